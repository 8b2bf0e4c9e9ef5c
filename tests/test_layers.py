"""The package's layers import only downward, and never from inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import waku

PACKAGE = Path(waku.__file__).parent

# Each private module's layer; a module may import only from lower layers.
# ``_stores`` and ``_codec`` are packages of one layer each: their modules
# import each other and lower layers only.
PACKAGES = {"_stores", "_codec", "cli", "dashboard"}
LAYERS: dict[str, int] = {
    "_errors": 0,
    "_clock": 0,
    "_flow": 1,
    "_codec": 1,
    "_result": 1,
    "_policy": 1,
    "_tracing": 2,
    "_records": 2,
    "_stores": 2,
    "_config": 3,
    "_engine": 4,
    "_context": 5,
    "_lifecycle": 6,
    "_steps": 7,
    "_continuations": 8,
    "_waits": 8,
    "_retries": 8,
    "_drive": 9,
    "_step_api": 10,
    # the shells: none imports another
    "_sync": 11,
    "_aio": 11,
    "_background": 11,
    "_registry": 12,
    "_callbacks": 13,
    "_waker": 13,
    "_inspect": 13,
    "_runtime": 14,
    "_worker": 15,
    "_decorators": 15,
    "testing": 16,
    "__init__": 99,
    # the top: the command line uses the public API (``import waku``) only
    "dashboard": 100,
    "cli": 101,
    "__main__": 102,
}
TOP = 100
"""Modules from this layer up import ``waku`` itself, as a user does, and no private module."""


def modules() -> dict[str, ast.Module]:
    return {
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts): ast.parse(path.read_text())
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def unit(module: str) -> str:
    """The layered unit a module belongs to: its top-level name under ``waku``."""
    return module.split(".", maxsplit=1)[0]


def imported(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The ``waku`` modules an import statement reaches (relative or absolute).

    ``import waku`` and ``from waku import name`` reach ``__init__``.
    """
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
        return [n.removeprefix("waku").removeprefix(".") or "__init__" for n in names if _ours(n)]
    if node.level == 0:
        base = node.module or ""
        if not _ours(base):
            return []
        base = base.removeprefix("waku").removeprefix(".") or "__init__"
    else:
        package = module.split(".")[: -node.level] if module != "__init__" else []
        if module.endswith("__init__"):
            package = module.split(".")[:-1][: len(module.split(".")) - node.level]
        base = ".".join([*package, *([node.module] if node.module else [])])
    if base:
        return [base]
    return [alias.name for alias in node.names]  # ``from . import _waker``


def _ours(name: str) -> bool:
    return name == "waku" or name.startswith("waku.")


def test_every_module_has_a_layer() -> None:
    missing = {unit(m) for m in modules()} - set(LAYERS)
    assert not missing, f"give these modules a layer in LAYERS: {sorted(missing)}"


def test_imports_only_go_down_the_layers() -> None:
    upward = []
    for module, tree in modules().items():
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in imported(module, node):
                source_unit, target_unit = unit(module), unit(target)
                if source_unit == target_unit and source_unit in PACKAGES:
                    continue
                if LAYERS[target_unit] >= LAYERS[source_unit]:
                    upward.append(f"{module} imports {target}")
    assert not upward, "imports that do not go down a layer:\n" + "\n".join(upward)


def test_the_top_layers_use_only_the_public_api() -> None:
    private = []
    for module, tree in modules().items():
        if LAYERS[unit(module)] < TOP:
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            private += [f"{module} imports {n}" for n in names if ".waku._" in f".{n}"]
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                private += [f"{module} imports {t}" for t in imported(module, node) if t[0] == "_"]
    assert not private, "top-layer modules reach private modules:\n" + "\n".join(private)


def test_no_import_inside_a_function() -> None:
    inside = []
    for module, tree in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for child in ast.walk(node):
                    if isinstance(child, (ast.Import, ast.ImportFrom)):
                        inside.append(f"{module}:{child.lineno} in {node.name}()")
    assert not inside, "imports inside functions:\n" + "\n".join(inside)


def test_the_checks_see_an_upward_import() -> None:
    tree = ast.parse("from ._drive import execute\n")
    (node,) = tree.body
    assert isinstance(node, ast.ImportFrom)
    assert imported("_engine", node) == ["_drive"]
    assert LAYERS[unit("_drive")] >= LAYERS[unit("_engine")]
    (store_import,) = ast.parse("from .base import token_hash\n").body
    assert isinstance(store_import, ast.ImportFrom)
    assert imported("_stores.memory", store_import) == ["_stores.base"]
    (up,) = ast.parse("from .._context import Run\n").body
    assert isinstance(up, ast.ImportFrom)
    assert imported("_stores.sqlite", up) == ["_context"]
    (public,) = ast.parse("from waku import get_workflow\n").body
    assert isinstance(public, ast.ImportFrom)
    assert imported("cli.commands", public) == ["__init__"]
    assert LAYERS[unit("cli.commands")] > LAYERS["__init__"]
    (public,) = ast.parse("import waku\n").body
    assert isinstance(public, ast.Import)
    assert imported("_inspect", public) == ["__init__"]
    assert imported("dashboard._pages", public) == ["__init__"]
    (names,) = ast.parse("from waku import get_workflow\n").body
    assert isinstance(names, ast.ImportFrom)
    assert imported("_runtime", names) == ["__init__"]
    assert LAYERS[unit("__init__")] >= LAYERS[unit("_runtime")]
    assert LAYERS[unit("__init__")] < LAYERS[unit("dashboard._server")]
