"""Every ```python block of the README runs as written, each in a fresh process.

A block runs as a script (``readme_block.py``) in an empty temporary working
directory, with ``WAKU_STORE`` unset and warnings as errors; it must exit 0
and write nothing to stderr. An expression statement ending in a comment
``# -> text`` is also checked: ``repr`` of its value must be ``text``, where
``…`` stands for any text. So every result the README shows is one the code
really gives.

A block that cannot run alone is marked on the line before its fence with
``<!-- not run: reason -->``; ``NOT_RUN`` below lists those blocks by heading,
so a new skip is a visible change to this file, never a silent one.
"""

from __future__ import annotations

import ast
import io
import os
import re
import subprocess
import sys
import textwrap
import tokenize
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"

NOT_RUN: dict[str, str] = {"PostgreSQL store": "needs a PostgreSQL server"}
"""Headings of the blocks marked ``<!-- not run: reason -->``, with why."""

TIMEOUT = 60

_FENCE = re.compile(r"^( *)(`{3,})(.*)$")  # indented inside a list item
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$")
_MARKER = re.compile(r"^<!--\s*not run\b(.*?)-->\s*$")
_EXPECT = "# -> "

# Runs the block as __main__ (as `python readme_block.py` would) after installing the
# checker the `# -> text` rewrites call; a builtin, so no line of the block moves.
_RUNNER = textwrap.dedent(
    """
    import builtins, re, runpy, sys

    def _readme_expect(value, expected, line):
        shown = repr(value)
        pattern = ".*?".join(re.escape(part) for part in expected.split("\\u2026"))
        if not re.fullmatch(pattern, shown, re.S):
            raise AssertionError(f"README line {line} shows {expected}, but the value is {shown}")
        return value

    builtins._readme_expect = _readme_expect
    runpy.run_path(sys.argv[1], run_name="__main__")
    """
)


@dataclass(frozen=True)
class Block:
    """One fenced ```python block: where it sits and whether it is marked not run."""

    index: int
    heading: str
    line: int
    """README line number of the block's first line of code."""
    code: str
    not_run: str | None
    """The marker's reason, ``""`` for a marker without one, None when unmarked."""

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-")
        return f"{self.index:02d}-{slug}"


def python_blocks(text: str) -> list[Block]:
    """The ```python blocks of a Markdown text, with the heading each sits under."""
    blocks: list[Block] = []
    lines = text.splitlines()
    heading = ""
    fence: str | None = None
    language = ""
    indent = start = 0
    for number, line in enumerate(lines, start=1):
        opening = _FENCE.match(line)
        if fence is None:
            if opening:
                indent, fence, start = len(opening.group(1)), opening.group(2), number
                info = opening.group(3).strip()
                language = info.split()[0] if info else ""
            elif found := _HEADING.match(line):
                heading = found.group(1)
            continue
        if line.strip() != fence:
            continue
        fence = None
        if language != "python":
            continue
        before = lines[start - 2].strip() if start > 1 else ""
        marker = _MARKER.match(before)
        reason = marker.group(1).strip().lstrip(":").strip() if marker else None
        code = "\n".join(row[indent:] for row in lines[start : number - 1]) + "\n"
        blocks.append(Block(len(blocks), heading, start + 1, code, reason))
    if fence is not None:
        raise ValueError(f"the code fence opened on line {start} is never closed")
    return blocks


def with_checks(code: str, first_line: int) -> str:
    """``code`` with each ``expr  # -> text`` wrapped so the value is checked, lines kept."""
    tree = ast.parse(code)
    expects = {
        token.start[0]: token.string[len(_EXPECT) :].strip()
        for token in tokenize.generate_tokens(io.StringIO(code).readline)
        if token.type == tokenize.COMMENT and token.string.startswith(_EXPECT)
    }
    statements = {
        node.end_lineno: node
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and node.end_lineno in expects
    }
    if missing := sorted(set(expects) - set(statements)):
        where = ", ".join(str(first_line + n - 1) for n in missing)
        raise ValueError(f"README line {where}: '{_EXPECT}' must end an expression statement")
    # Offsets in the AST count UTF-8 bytes.
    rows = [row.encode() for row in code.splitlines()]
    for end, node in statements.items():
        assert node.end_col_offset is not None
        closing = f"), {expects[end]!r}, {first_line + end - 1})".encode()
        row = rows[end - 1]
        rows[end - 1] = row[: node.end_col_offset] + closing + row[node.end_col_offset :]
        row = rows[node.lineno - 1]
        rows[node.lineno - 1] = (
            row[: node.col_offset] + b"_readme_expect((" + row[node.col_offset :]
        )
    return b"\n".join(rows).decode() + "\n"


def run_block(code: str, first_line: int, directory: Path) -> subprocess.CompletedProcess[str]:
    """Run a block as a script in ``directory``, with ``WAKU_STORE`` unset."""
    script = directory / "readme_block.py"
    script.write_text(with_checks(code, first_line))
    env = {key: value for key, value in os.environ.items() if key != "WAKU_STORE"}
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", _RUNNER, script.name],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


BLOCKS = python_blocks(README.read_text())


def _param(block: Block) -> object:
    marks = [pytest.mark.skip(reason=f"not run: {block.not_run}")] if block.not_run else []
    return pytest.param(block, id=block.id, marks=marks)


@pytest.mark.parametrize("block", [_param(block) for block in BLOCKS])
def test_readme_block_runs(block: Block, tmp_path: Path) -> None:
    done = run_block(block.code, block.line, tmp_path)
    assert (done.returncode, done.stderr) == (0, ""), (
        f"the README block under {block.heading!r} (line {block.line}) failed:\n"
        f"{done.stderr}{done.stdout}"
    )


def test_every_python_fence_is_collected() -> None:
    text = README.read_text()
    assert len(BLOCKS) == text.count("```python\n") > 0


def test_not_run_blocks_are_listed_with_reasons() -> None:
    marked = [(block.heading, block.not_run) for block in BLOCKS if block.not_run is not None]
    assert all(reason for _, reason in marked), f"a <!-- not run --> needs a reason: {marked}"
    assert dict(marked) == NOT_RUN
    # A marker anywhere but on the line before a ```python fence would be ignored.
    assert len(re.findall(r"<!--\s*not run\b", README.read_text())) == len(marked)


def test_blocks_are_found_under_their_headings() -> None:
    text = (
        "# A\n<!-- not run -->\n```python\nx = 1\n```\n## B\n```bash\n# not a heading\n```\n"
        "- item:\n\n  <!-- not run: a server -->\n  ```python\n  if x:\n      y = 2\n  ```\n"
    )
    blocks = python_blocks(text)
    assert [(b.heading, b.line, b.code, b.not_run) for b in blocks] == [
        ("A", 4, "x = 1\n", ""),
        ("B", 14, "if x:\n    y = 2\n", "a server"),
    ]


def test_shown_value_is_checked(tmp_path: Path) -> None:
    assert run_block("1 + 1  # -> 2\n", 1, tmp_path).returncode == 0
    done = run_block("x = 'a'\n(x\n + 'b')  # -> 'a…c'\n", 10, tmp_path)
    assert "README line 12 shows 'a…c', but the value is 'ab'" in done.stderr


def test_shown_value_must_follow_an_expression() -> None:
    with pytest.raises(ValueError, match="README line 4"):
        with_checks("x = 1\ny = 2  # -> 2\n", 3)
