"""The ``waku`` command line, run as a real process against a SQLite store.

Each test fills a fresh store with ``tests.cli_app`` (a succeeded, a failed,
a waiting, a past-deadline and a queued workflow) and runs ``python -m
waku`` on it: what it prints, its JSON, its exit code, its error line.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Done:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    url: str
    token: str

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("WAKU_STORE", "NO_COLOR")}
        return {**env, **extra}

    def __call__(self, *args: str, app: bool = True, **env: str) -> Done:
        command = [sys.executable, "-m", "waku", "--store", self.url]
        command += ["--app", "tests.cli_app"] if app else []
        done = subprocess.run(
            [*command, *args],
            check=False,
            cwd=ROOT,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "Traceback" not in done.stderr, done.stderr
        return Done(done.returncode, done.stdout, done.stderr)

    def status(self, name: str, workflow_id: str) -> str:
        shown = self("show", name, workflow_id, "--json")
        assert shown.code == 0, shown.err
        status: str = shown.json()["status"]
        return status


def error_line(done: Done, code: int, *words: str) -> None:
    """One line on stderr, ``waku: error: ...`` (or argparse's ``waku CMD: error:``)."""
    assert done.code == code, (done.code, done.err)
    lines = done.err.strip().splitlines()
    assert len(lines) == 1, done.err
    assert ": error: " in lines[0]
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    url = f"sqlite:///{tmp_path / 'waku.db'}"
    filled = subprocess.run(
        [sys.executable, "-m", "tests.cli_app", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    token: str = json.loads(filled.stdout)["token"]
    return Cli(url, token)


def test_list_prints_a_table_newest_first_and_filters(cli: Cli) -> None:
    listed = cli("list")
    assert listed.code == 0
    lines = listed.out.splitlines()
    assert lines[0].split()[:3] == ["NAME", "ID", "STATUS"]
    rows = [line.split()[:3] for line in lines[1:]]
    assert rows == [
        ["greet", "q-1", "queued"],
        ["deadline", "d-1", "waiting"],
        ["approval", "a-1", "waiting"],
        ["order", "o-1", "failed"],
        ["greet", "g-1", "succeeded"],
    ]
    assert "\x1b[" not in listed.out  # piped: no colour
    failed = cli("list", "--status", "failed", "--json").json()
    assert [(w["workflow_name"], w["workflow_id"]) for w in failed["workflows"]] == [
        ("order", "o-1")
    ]
    named = cli("list", "--name", "greet", "--json").json()
    assert [w["workflow_id"] for w in named["workflows"]] == ["q-1", "g-1"]
    assert named["next_before"] is None


def test_list_pages_with_before(cli: Cli) -> None:
    first = cli("list", "--limit", "2")
    assert [line.split()[1] for line in first.out.splitlines()[1:]] == ["q-1", "d-1"]
    assert "waku list --before deadline d-1" in first.err
    page = cli("list", "--limit", "2", "--before", "deadline", "d-1", "--json").json()
    assert [w["workflow_id"] for w in page["workflows"]] == ["a-1", "o-1"]
    assert page["next_before"] == ["order", "o-1"]
    error_line(cli("list", "--before", "nope", "x"), 1, "'nope'", "'x'")


def test_show_lists_steps_and_full_adds_tracebacks(cli: Cli) -> None:
    shown = cli("show", "order", "o-1")
    assert shown.code == 0
    assert "status:    failed" in shown.out
    assert "error:     ValueError: out of stock for order 40" in shown.out
    steps = [line.split() for line in shown.out.split("\n\n")[1].splitlines()[1:]]
    assert steps[0][:3] == ["1", "tests.cli_app:double", "succeeded"]
    assert steps[1][:3] == ["2", "tests.cli_app:check_stock", "failed"]
    assert "Traceback" not in shown.out
    full = cli("show", "order", "o-1", "--full")
    assert "output: 40" in full.out
    assert 'raise ValueError(f"out of stock for order {x}")' in full.out
    data = cli("show", "approval", "a-1", "--json").json()
    assert data["status"] == "waiting"
    assert [(s["step"], s["status"]) for s in data["steps"]] == [(0, "input"), (1, "waiting")]
    assert data["input"] == 7
    error_line(cli("show", "order", "o-9"), 1, "no workflow 'order' with id 'o-9'")


def test_resume_retries_the_failed_step(cli: Cli) -> None:
    error_line(cli("resume", "order", "o-1"), 1, "failed at step 2", "out of stock")
    resumed = cli("resume", "order", "o-1", WAKU_TEST_FIXED="1")
    assert resumed.code == 0, resumed.err
    assert "order o-1: succeeded" in resumed.out
    assert "result: 41" in resumed.out
    assert cli.status("order", "o-1") == "succeeded"
    error_line(cli("resume", "order", "nope"), 1, "no workflow")


def test_resume_without_the_app_names_the_fix(cli: Cli) -> None:
    error_line(cli("resume", "order", "o-1", app=False), 1, "order", "--app")


def test_complete_delivers_once(cli: Cli, tmp_path: Path) -> None:
    error_line(cli("complete", cli.token, "{not json"), 2, "not JSON")
    error_line(cli("complete", cli.token, "@" + str(tmp_path / "none.json")), 2, "none.json")
    payload = tmp_path / "payload.json"
    payload.write_text("21")
    completed = cli("complete", cli.token, f"@{payload}")
    assert completed.code == 0, completed.err
    assert "approval a-1: succeeded" in completed.out
    assert "result: 42" in completed.out
    error_line(cli("complete", cli.token, "21"), 1, "already used")
    error_line(cli("complete", "not-a-token", "21"), 1, "token")


def test_fail_rejects_the_callback(cli: Cli) -> None:
    failed = cli("fail", cli.token, "manager said no")
    assert failed.code == 0, failed.err
    assert "approval a-1: callback failed; workflow failed" in failed.out
    data = cli("show", "approval", "a-1", "--json").json()
    assert data["error"]["message"] == "manager said no"
    error_line(cli("fail", cli.token, "again"), 1, "already used")


def test_cancel(cli: Cli) -> None:
    done = cli("cancel", "approval", "a-1")
    assert (done.code, done.out) == (0, "approval a-1: cancelled\n")
    assert cli.status("approval", "a-1") == "cancelled"
    error_line(cli("cancel", "approval", "a-1"), 1, "already cancelled")
    error_line(cli("resume", "approval", "a-1"), 1, "cancelled")
    error_line(cli("cancel", "approval", "a-9"), 1, "no workflow")


def test_fork_reruns_from_a_step(cli: Cli) -> None:
    forked = cli("fork", "order", "o-1", "--from-step", "2", "--new-id", "o-2", WAKU_TEST_FIXED="1")
    assert forked.code == 0, forked.err
    assert forked.out.splitlines() == [
        "forked order o-1 from step 2 as o-2",
        "order o-2: succeeded (step 2)",
        "result: 41",
    ]
    steps = cli("show", "order", "o-2", "--json").json()["steps"]
    assert [(s["step"], s["attempts"]) for s in steps] == [(0, 0), (1, 0), (2, 1)]  # 1 reused
    error_line(cli("fork", "order", "o-1", "--from-step", "0"), 2, "--from-step")
    error_line(cli("fork", "order", "o-1", "--from-step", "2", "--new-id", "o-2"), 2, "exists")


def test_prune_deletes_finished_workflows(cli: Cli) -> None:
    kept = cli("prune", "--older-than", "7d", "--json").json()
    assert kept == {"pruned": [], "count": 0}
    pruned = cli("prune", "--older-than", "0s", "--status", "failed", "--json").json()
    assert pruned == {"pruned": [["order", "o-1"]], "count": 1}
    done = cli("prune", "--older-than", "0s")
    assert done.out.startswith("pruned 1 workflow last updated before ")
    assert [w["workflow_id"] for w in cli("list", "--json").json()["workflows"]] == [
        "q-1",
        "d-1",
        "a-1",
    ]
    error_line(cli("prune", "--older-than", "7 days"), 2, "not a duration")
    error_line(cli("prune"), 2, "--older-than")


def test_recover_resumes_a_workflow_past_its_deadline(cli: Cli) -> None:
    report = cli("recover", "--json").json()
    assert report == {
        "recovered": [
            {"workflow_name": "deadline", "workflow_id": "d-1", "status": "resumed: succeeded"}
        ]
    }
    result = cli("show", "deadline", "d-1", "--json").json()["result"]
    assert result == "CallbackTimeoutError"
    assert cli("recover").out == "nothing to recover\n"


def test_worker_runs_queued_work_until_sigterm(cli: Cli) -> None:
    command = [sys.executable, "-m", "waku", "worker", "--store", cli.url, "--app", "tests.cli_app"]
    worker = subprocess.Popen(
        [*command, "--concurrency", "2"],
        cwd=ROOT,
        env=cli.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while cli.status("greet", "q-1") != "succeeded":
            assert time.monotonic() < deadline, "the worker did not run the queued workflow"
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "queues default, concurrency 2" in err
    assert "Traceback" not in err
    assert cli("show", "greet", "q-1", "--json").json()["result"] == "hello BO"


def test_ui_help(cli: Cli) -> None:
    shown = cli("ui", "--help")
    assert shown.code == 0
    assert "--host" in shown.out
    assert "127.0.0.1" in shown.out


def test_ui_serves_the_dashboard_and_warns_off_loopback(cli: Cli) -> None:
    command = [sys.executable, "-m", "waku", "ui", "--store", cli.url, "--port", "0"]
    server = subprocess.Popen(
        [*command, "--host", "0.0.0.0"],
        cwd=ROOT,
        env=cli.env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        warning = server.stderr.readline()
        assert warning.startswith("waku: warning: serving the dashboard on 0.0.0.0")
        announced = server.stderr.readline()
        url = announced.split(" on ", 1)[1].split()[0].replace("0.0.0.0", "127.0.0.1")
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200
            assert "o-1" in page.read().decode()
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "Traceback" not in err


def test_store_and_app_errors(cli: Cli, tmp_path: Path) -> None:
    bad = [sys.executable, "-m", "waku"]
    for args, words in [
        (["--store", "mongodb://x", "list"], ["Unknown store URL 'mongodb://x'"]),
        (["--store", "postgresql://nobody@127.0.0.1:1/x", "list"], ["Cannot connect"]),
        (["--store", f"sqlite:///{tmp_path}/no/such/dir.db", "list"], ["does not exist"]),
        (["--store", cli.url, "--app", "tests.no_such_module", "list"], ["tests.no_such_module"]),
        (["--store", cli.url, "--app", "tests.cli_app:nothing", "list"], ["no 'nothing'"]),
        (["--store", cli.url, "list", "--status", "lost"], ["invalid choice"]),
        (["--store", cli.url, "list", "--limit", "0"], ["--limit"]),
        (["--store", cli.url], ["required"]),
    ]:
        done = subprocess.run(
            bad + args, check=False, cwd=ROOT, env=cli.env(), capture_output=True, text=True
        )
        assert "Traceback" not in done.stderr
        error_line(Done(done.returncode, done.stdout, done.stderr), 2, *words)
    from_env = subprocess.run(
        [*bad, "list"],
        check=False,
        cwd=tmp_path,
        env=cli.env(WAKU_STORE="nope://"),
        capture_output=True,
        text=True,
    )
    error_line(Done(from_env.returncode, from_env.stdout, from_env.stderr), 2, "nope://")


def test_colour_only_in_a_terminal_without_no_color(cli: Cli) -> None:
    def in_terminal(**env: str) -> str:
        main, other = pty.openpty()
        command = [sys.executable, "-m", "waku", "--store", cli.url, "list"]
        subprocess.run(command, check=False, cwd=ROOT, env=cli.env(**env), stdout=other, timeout=60)
        os.close(other)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(main)
        return b"".join(chunks).decode()

    assert "\x1b[31mfailed" in in_terminal()
    assert "\x1b[" not in in_terminal(NO_COLOR="1")


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "waku"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "waku 0.1.0"
