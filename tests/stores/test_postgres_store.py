"""PostgresStore alone, against a real server: URLs, schema, records, tokens, leases, names.

The shared suites run it too (``kinds.KINDS``); connection loss, other
processes and load are in ``test_postgres_failures``. Without a server these
tests skip with a message saying how to run them; under ``CI=true`` they fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import waku
from waku import StoreError
from waku._stores.base import HOST

from ..postgres_support import (
    ThrowawayPostgresStore,
    drop_schema,
    new_schema,
    require_server,
    rows,
)


@pytest.fixture
def dsn() -> str:
    return require_server()


@pytest.fixture
def schema(dsn: str) -> Iterator[str]:
    name = new_schema()
    yield name
    drop_schema(name)


@pytest.fixture
def store(dsn: str) -> Iterator[ThrowawayPostgresStore]:
    with ThrowawayPostgresStore(dsn) as s:
        yield s


def add_one(x: int) -> int:
    return x + 1


def fails(x: int) -> int:
    raise ValueError(f"bad {x}")


# -- opening ----------------------------------------------------------------------


def test_import_waku_does_not_import_psycopg() -> None:
    code = "import sys, waku; assert 'psycopg' not in sys.modules; print(waku.PostgresStore)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "PostgresStore" in done.stdout


def test_a_missing_driver_says_which_extra_to_install() -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None; import waku\n"
        "try:\n    waku.PostgresStore('postgresql://localhost/x')\n"
        "except ImportError as e:\n    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'waku[postgres]'" in done.stdout


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_urls_carry_waku_options_and_pass_the_rest_to_libpq(
    dsn: str, schema: str, scheme: str
) -> None:
    rest = dsn.split("://", 1)[1]
    url = f"{scheme}://{rest}?schema={schema}&lease_ttl=5&max_size=3&application_name=url-test"
    store = waku.set_store(url)
    try:
        assert isinstance(store, waku.PostgresStore)
        assert (store.schema, store.lease_ttl, store._db.max_size) == (schema, 5.0, 3)
        store.store_result("wf", "1", 1, b"R json m:f\n1")
        assert rows("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'url-test'")[0][
            0
        ]
    finally:
        store.close()  # type: ignore[attr-defined]
        waku._config._default = None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("speed=9", "speed"),
        ("max_size=lots", "'lots' for 'max_size'"),
        ("lease_ttl=0", "lease_ttl must be .* more than 0"),
        ("lease_wait=inf", "lease_wait must be"),
        ("max_payload=0", "max_payload must be"),
        ("min_size=5&max_size=2", "min_size <= max_size"),
        ("pool_timeout=nan", "pool_timeout must be"),
    ],
)
def test_bad_url_options_are_store_errors(dsn: str, query: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        waku._stores.open_store(f"{dsn}?{query}")


def test_a_bad_option_in_a_url_never_shows_its_password() -> None:
    # Options are checked before any connection is tried: no server is needed here.
    with pytest.raises(StoreError, match=r"lease_ttl") as refused:
        waku._stores.open_store("postgresql://app:s3cret@127.0.0.1:1/db?lease_ttl=-1")
    assert "s3cret" not in str(refused.value) and "app:***@127.0.0.1:1" in str(refused.value)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_an_unreachable_server_is_one_clear_error_naming_host_and_port() -> None:
    port = free_port()
    with pytest.raises(StoreError) as caught:
        waku.PostgresStore(f"postgresql://postgres:s3cret@127.0.0.1:{port}/test")
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "Connection refused" in message
    assert "server running" in message and "s3cret" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_missing_database_says_so(dsn: str) -> None:
    with pytest.raises(StoreError, match=r'database "no_such_db_\w+" does not exist; create it'):
        waku.PostgresStore(dsn.rsplit("/", 1)[0] + f"/no_such_db_{uuid.uuid4().hex[:8]}")


def test_schema_is_made_versioned_and_kept(dsn: str, schema: str) -> None:
    from waku._stores.postgres_schema import SCHEMA_VERSION

    with waku.PostgresStore(dsn, schema=schema) as store:
        store.store_result("wf", "1", 1, b"R json m:f\n1")
    tables = rows("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", schema)
    assert tables == [("migrations",), ("steps",), ("tokens",), ("workflows",)]
    assert rows(f'SELECT max(version) FROM "{schema}".migrations') == [(SCHEMA_VERSION,)]
    with waku.PostgresStore(dsn, schema=schema) as store:
        assert store.get_steps("wf", "1") == {1: b"R json m:f\n1"}


def test_processes_starting_at_once_migrate_once(dsn: str, schema: str) -> None:
    barrier = threading.Barrier(6)
    opened: list[waku.PostgresStore] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        barrier.wait()
        try:
            opened.append(waku.PostgresStore(dsn, schema=schema))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in opened:
        store.close()
    assert errors == [] and len(opened) == 6
    from waku._stores.postgres_schema import SCHEMA_VERSION

    applied = rows(f'SELECT version, count(*) FROM "{schema}".migrations GROUP BY 1 ORDER BY 1')
    assert applied == [(version, 1) for version in range(1, SCHEMA_VERSION + 1)]


def test_an_older_schema_is_migrated_forward_keeping_its_data(
    dsn: str, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from waku._stores import postgres_schema

    with monkeypatch.context() as old:
        old.setattr(postgres_schema, "MIGRATIONS", postgres_schema.MIGRATIONS[:1])
        old.setattr(postgres_schema, "SCHEMA_VERSION", 1)
        with waku.PostgresStore(dsn, schema=schema) as store:
            store.store_result("wf", "1", 1, b"R json m:f\n1")
    assert rows(f'SELECT max(version) FROM "{schema}".migrations') == [(1,)]
    with waku.PostgresStore(dsn, schema=schema) as store:
        assert store.get_steps("wf", "1") == {1: b"R json m:f\n1"}
    latest = postgres_schema.SCHEMA_VERSION
    assert rows(f'SELECT max(version) FROM "{schema}".migrations') == [(latest,)]
    indexes = rows("SELECT indexname FROM pg_indexes WHERE schemaname = %s", schema)
    assert ("workflows_by_created",) in indexes and ("tokens_by_workflow",) in indexes


def test_a_schema_name_is_quoted_not_executed(dsn: str) -> None:
    weird = f'we"ird; DROP SCHEMA public -- {uuid.uuid4().hex[:6]}'
    try:
        with waku.PostgresStore(dsn, schema=weird) as store:
            store.store_result("wf", "1", 1, b"R json m:f\n1")
            assert store.get_steps("wf", "1") == {1: b"R json m:f\n1"}
        query = "SELECT count(*) FROM pg_namespace WHERE nspname IN (%s, 'public')"
        assert rows(query, weird) == [(2,)]
    finally:
        drop_schema(weird)
    with pytest.raises(ValueError, match="63 bytes"):
        waku.PostgresStore(dsn, schema="x" * 64)


def test_newer_schema_is_refused_and_left_unchanged(dsn: str, schema: str) -> None:
    with waku.PostgresStore(dsn, schema=schema) as store:
        store.store_result("wf", "1", 1, b"R json m:f\n1")
    rows(f'INSERT INTO "{schema}".migrations (version) VALUES (99) RETURNING version')
    with pytest.raises(StoreError, match=rf"{schema}.*schema version 99.*Upgrade waku"):
        waku.PostgresStore(dsn, schema=schema)
    assert rows(f'SELECT output FROM "{schema}".steps') == [(b"R json m:f\n1",)]


def test_a_schema_holding_someone_elses_tables_is_refused(dsn: str, schema: str) -> None:
    rows(f'CREATE SCHEMA "{schema}"; CREATE TABLE "{schema}".steps (x int); SELECT 1')
    with pytest.raises(StoreError, match="Waku did not make; give Waku a schema of its own"):
        waku.PostgresStore(dsn, schema=schema)
    assert rows(f'SELECT count(*) FROM "{schema}".steps') == [(0,)]


def test_closed_store_refuses_use(dsn: str, schema: str) -> None:
    store = waku.PostgresStore(dsn, schema=schema)
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.get_steps("wf", "1")
    with pytest.raises(StoreError, match="closed"):
        store.store_result("wf", "1", 1, b"R json m:f\n1")


# -- what the records hold --------------------------------------------------------


def test_step_rows_record_function_status_attempts_and_times(
    store: ThrowawayPostgresStore,
) -> None:
    waku.run_workflow("rec", lambda: waku.step(fails, 1), workflow_id="a", store=store)
    waku.run_workflow("rec", lambda: waku.pipe(1, waku.step(add_one)), workflow_id="b", store=store)
    assert store.get_workflow_status("rec", "a") == "failed"
    assert store.get_workflow_status("rec", "b") == "succeeded"
    assert store.get_workflow_status("rec", "c") is None
    s = f'"{store.schema}"'
    query = (
        "SELECT function, status, attempts, input IS NOT NULL, started_at <= finished_at, "
        f"substr(output, 1, 1) FROM {s}.steps WHERE workflow_id = %s"
    )
    assert rows(query, "a") == [(f"{__name__}:fails", "failed", 1, True, True, b"E")]
    assert rows(query, "b") == [(f"{__name__}:add_one", "succeeded", 1, True, True, b"R")]
    assert rows(
        f"SELECT status, created_at <= updated_at, lease_owner, result IS NOT NULL "
        f"FROM {s}.workflows WHERE workflow_id = 'b'"
    ) == [("succeeded", True, None, True)]


def test_retry_counts_attempts_and_start_never_touches_the_result(
    store: ThrowawayPostgresStore,
) -> None:
    store.store_start("wf", "1", 1, b"S json m:f\n1")
    store.store_result("wf", "1", 1, b"E json m:f\n{}")
    store.store_start("wf", "1", 1, b"S json m:f\n2")
    store.flush()
    assert store.get_result("wf", "1", 1) == b"E json m:f\n{}"
    store.store_result("wf", "1", 1, b"R json m:f\n9")
    assert rows(f'SELECT attempts, status, input FROM "{store.schema}".steps') == [
        (2, "succeeded", b"S json m:f\n2")
    ]


def test_a_lone_start_and_a_status_are_written_within_a_quarter_second(
    store: ThrowawayPostgresStore,
) -> None:
    store.store_start("wf", "1", 4, b"S json m:f\n1")
    store.set_workflow_status("wf", "1", "sleeping", wake_at=time.time() + 60)
    deadline = time.monotonic() + 5
    query = (
        f'SELECT s.status, w.status, w.wake_at > now() FROM "{store.schema}".steps s '
        f'JOIN "{store.schema}".workflows w USING (workflow_name, workflow_id)'
    )
    while not rows(query) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert rows(query) == [("running", "sleeping", True)]
    assert store.get_steps("wf", "1") == {}


def test_a_completed_step_is_one_statement(
    store: ThrowawayPostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[list[tuple[str, Any]]] = []
    execute = waku._stores.postgres_connections.execute

    def spy(conn: Any, statements: list[tuple[str, Any]]) -> Any:
        sent.append(statements)
        return execute(conn, statements)

    monkeypatch.setattr(waku._stores.postgres_connections, "execute", spy)
    store.store_start("wf", "1", 1, b"S json m:f\n1")
    store.store_result("wf", "1", 1, b"R json m:f\n1")
    assert len(sent) == 1 and len(sent[0]) == 1
    assert sent[0][0][0] == store._sql.start_and_result
    assert rows(f'SELECT status, attempts, input FROM "{store.schema}".steps') == [
        ("succeeded", 1, b"S json m:f\n1")
    ]


def test_deferred_writes_are_written_when_the_process_exits(dsn: str, schema: str) -> None:
    code = (
        "import sys, waku; s = waku.PostgresStore(sys.argv[1], schema=sys.argv[2]); "
        "s.set_workflow_status('wf', '1', 'waiting'); "
        "s.store_start('wf', '1', 1, b'S json m:f\\n1')"
    )
    subprocess.run([sys.executable, "-c", code, dsn, schema], check=True, timeout=60)
    assert rows(f'SELECT status FROM "{schema}".workflows') == [("waiting",)]
    assert rows(f'SELECT step, status FROM "{schema}".steps') == [(1, "running")]


# -- tokens -----------------------------------------------------------------------


def test_tokens_are_stored_only_as_hashes_and_unknown_ones_change_nothing(
    store: ThrowawayPostgresStore,
) -> None:
    token = store.store_result_token("wf", "1", 1)
    stored = rows(f'SELECT hash, spent_at FROM "{store.schema}".tokens')
    assert stored == [(waku._stores.base.token_hash(token), None)]
    with pytest.raises(waku.InvalidTokenError, match="never issued"):
        store.store_token_result("forged", b"C json -\n1")
    with pytest.raises(waku.InvalidTokenError, match="not valid text"):
        store.store_token_result("\ud800", b"C json -\n1")
    assert rows(f'SELECT count(*) FROM "{store.schema}".steps') == [(0,)]


# -- leases -----------------------------------------------------------------------


def test_live_owner_blocks_and_expired_lease_is_taken(store: ThrowawayPostgresStore) -> None:
    me = f"{HOST}:{os.getpid()}:aaa"
    assert store.acquire_lease("wf", "1", me, 60)
    assert not store.acquire_lease("wf", "1", "other-host:1:bbb", 60)
    assert store.acquire_lease("wf", "1", me, 60)  # renewal
    store.release_lease("wf", "1", "other-host:1:bbb")  # not the holder: no effect
    assert not store.acquire_lease("wf", "1", "other-host:1:bbb", 60)
    assert store.acquire_lease("wf", "2", "other-host:1:bbb", 0.0)  # expires at once
    assert store.acquire_lease("wf", "2", me, 60)
    # Expiry is on the database's clock.
    ((left,),) = rows(
        f'SELECT extract(epoch FROM lease_expires - now()) FROM "{store.schema}".workflows '
        "WHERE workflow_id = '2'"
    )
    assert 55 < left <= 60


def test_dead_owner_on_this_host_is_taken_over_at_once(store: ThrowawayPostgresStore) -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = f"{HOST}:{child.stdout.strip()}:ccc"
    assert store.acquire_lease("wf", "1", dead, 3600)
    assert store.acquire_lease("wf", "1", f"{HOST}:{os.getpid()}:ddd", 60)


def test_lease_wait_waits_for_the_holder(dsn: str, schema: str) -> None:
    with (
        waku.PostgresStore(dsn, schema=schema) as holder,
        waku.PostgresStore(dsn, schema=schema, lease_wait=30) as waiter,
    ):
        assert holder.acquire_lease("wf", "1", "other-host:1:a", 60)
        released = threading.Timer(0.05, holder.release_lease, ("wf", "1", "other-host:1:a"))
        released.start()
        began = time.monotonic()
        assert waiter.acquire_lease("wf", "1", "other-host:2:b", 60)
        assert time.monotonic() - began < 10
        released.join()


# -- hostile names and payloads ---------------------------------------------------

HOSTILE = [
    "'; DROP TABLE steps; --",
    'x"); DROP SCHEMA public CASCADE; --',
    "O'Brien \\ %s %(x)s {schema} $1",
    "ünïcödé ✓ 🚀",
    "é" * 512,  # 1024 bytes: the longest name allowed
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_names_ids_and_payloads_are_stored_verbatim(
    store: ThrowawayPostgresStore, text: str
) -> None:
    payload = b"R json m:" + text.encode() + b"\n\x00'; DROP TABLE tokens; --\x00" + os.urandom(64)
    store.store_start(text, text, 1, payload)
    store.store_result(text, text, 1, payload)
    store.set_workflow_status(text, text, "succeeded", result=payload)
    token = store.store_result_token(text, text, 2)
    assert store.store_token_result(token, payload) == (text, text, 2)
    assert store.get_steps(text, text) == {1: payload, 2: payload}
    assert store.get_workflow_status(text, text) == "succeeded"
    assert store.acquire_lease(text, text, text, 10)
    store.release_lease(text, text, text)
    assert rows(
        f'SELECT workflow_name, function, result FROM "{store.schema}".steps '
        f'JOIN "{store.schema}".workflows USING (workflow_name, workflow_id) WHERE step = 1'
    ) == [(text, f"m:{text}", payload)]
    assert rows("SELECT count(*) FROM pg_tables WHERE schemaname = %s", store.schema) == [(4,)]


def test_a_nul_in_a_step_functions_name_is_replaced_in_its_column_only(
    store: ThrowawayPostgresStore,
) -> None:
    payload = b"R json m:f\x00g\nvalue"
    store.store_result("wf", "1", 1, payload)
    assert store.get_result("wf", "1", 1) == payload
    assert rows(f'SELECT function FROM "{store.schema}".steps') == [("m:f\ufffdg",)]


@pytest.mark.parametrize(
    ("name", "wid", "message"),
    [
        ("wf\x00", "1", r"name 'wf\\x00' contains a NUL character"),
        ("wf", "a\x00b", r"id 'a\\x00b' contains a NUL character"),
        ("wf", "x" * 1025, "1025 bytes long.*up to 1024 bytes"),
        ("wf", "\udcff", "not valid Unicode"),
    ],
)
def test_names_postgres_cannot_hold_are_clear_errors_that_store_nothing(
    store: ThrowawayPostgresStore, name: str, wid: str, message: str
) -> None:
    with pytest.raises(StoreError, match=message):
        store.store_result(name, wid, 1, b"R json m:f\n1")
    with pytest.raises(StoreError, match=message):
        waku.run_workflow(name, lambda: waku.step(add_one, 1), workflow_id=wid, store=store)
    assert rows(f'SELECT count(*) FROM "{store.schema}".steps') == [(0,)]


def test_oversize_payload_stores_nothing(dsn: str) -> None:
    with ThrowawayPostgresStore(dsn, max_payload=1000) as store:
        store.store_result("wf", "1", 1, b"R json m:f\n1")
        with pytest.raises(StoreError, match=r"step 2.*1100 bytes.*limit of 1000.*nothing"):
            store.store_result("wf", "1", 2, b"R json m:f\n" + b"x" * 1089)
        with pytest.raises(StoreError, match="limit of 1000"):
            store.store_start("wf", "1", 3, b"S json m:f\n" + b"x" * 1000)
        assert store.get_steps("wf", "1") == {1: b"R json m:f\n1"}
