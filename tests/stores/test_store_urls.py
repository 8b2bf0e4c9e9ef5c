"""Stores named by URL: every option checked, every mistake a StoreError naming the URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import waku
from waku import MemoryStore, SQLiteStore, StoreError
from waku._stores import open_store


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Work in ``tmp_path`` with no default store; close any store a test set."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(waku._config, "_default", None)
    monkeypatch.delenv("WAKU_STORE", raising=False)
    yield tmp_path
    close = getattr(waku._config._default, "close", None)
    if close is not None:
        close()


def test_three_slashes_are_relative_four_absolute_and_every_option_is_read(in_tmp: Path) -> None:
    query = "durability=normal&lease_ttl=5&lease_wait=1.5&busy_timeout=2&max_payload=1000"
    relative = waku.set_store(f"sqlite:///waku.db?{query}")
    assert isinstance(relative, SQLiteStore)
    assert (in_tmp / "waku.db").exists()
    options = (relative.durability, relative.lease_ttl, relative.lease_wait, relative.max_payload)
    assert options == ("normal", 5.0, 1.5, 1000)
    with open_store(f"sqlite:///{in_tmp}/abs.db") as absolute:
        assert absolute.path == in_tmp / "abs.db"


def test_percent_escapes_in_the_path_are_decoded(in_tmp: Path) -> None:
    (in_tmp / "my dir").mkdir()
    with open_store("sqlite:///my%20dir/w%C3%A9.db") as store:
        assert store.path == Path("my dir/wé.db")
    assert (in_tmp / "my dir" / "wé.db").exists()


BAD_VALUES = [
    ("lease_ttl", "abc"),
    ("lease_ttl", "0"),
    ("lease_ttl", "-1"),
    ("lease_ttl", "nan"),
    ("lease_ttl", ""),
    ("lease_wait", "-0.5"),
    ("lease_wait", "inf"),
    ("busy_timeout", "-1"),
    ("busy_timeout", "0"),
    ("busy_timeout", "1e12"),
    ("max_payload", "0"),
    ("max_payload", "1.5"),
    ("max_payload", "-5"),
    ("durability", "bogus"),
    ("durability", "FULL"),
]


@pytest.mark.parametrize(("option", "value"), BAD_VALUES)
def test_a_bad_option_value_names_the_option_the_value_and_the_url(
    in_tmp: Path, option: str, value: str
) -> None:
    url = f"sqlite:///x.db?{option}={value}"
    with pytest.raises(StoreError) as refused:
        open_store(url)
    message = str(refused.value)
    assert f"option {option!r}" in message and f"{value!r}" in message and url in message
    assert not (in_tmp / "x.db").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite://waku.db", "three slashes|sqlite:///waku.db"),
        ("sqlite:///", "sqlite:///waku.db"),
        ("sqlite:///x.db?speed=9", r"Unknown option 'speed'.*durability, lease_ttl"),
        ("sqlite:///x.db?lease_ttl=1&lease_ttl=2", "'lease_ttl' is given twice"),
        ("sqlite:///x.db?durability", "name=value"),
        ("sqlite:///x.db?codec=pickle", "Unknown option 'codec'"),
        ("memory://?codec=pickle", "memory:// takes no options"),
        ("memory://somewhere", "memory:// takes no path"),
        ("memory:///", "memory:// takes no path"),
        ("mysql://db", r"Unknown store URL.*memory://, postgres://, postgresql://, sqlite://"),
        ("waku.db", "Unknown store URL"),
    ],
)
def test_a_bad_url_is_a_store_error_quoting_it(in_tmp: Path, url: str, expected: str) -> None:
    with pytest.raises(StoreError, match=expected) as refused:
        open_store(url)
    assert url in str(refused.value)
    assert list(in_tmp.iterdir()) == []


def test_memory_url_opens_a_memory_store() -> None:
    assert isinstance(open_store("memory://"), MemoryStore)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///x.db?lease_ttl=abc", r"option 'lease_ttl'.*'abc'"),
        ("sqlite:///missing/x.db", "does not exist"),
        ("nosuch://", "Unknown store URL"),
    ],
)
def test_an_error_from_waku_store_says_where_the_url_came_from(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    monkeypatch.setenv("WAKU_STORE", url)
    with pytest.raises(StoreError, match=expected) as refused:
        waku.get_store()
    assert "WAKU_STORE environment variable" in str(refused.value)
    assert url in str(refused.value)


BAD_ARGUMENTS: list[tuple[str, Any, type[Exception]]] = [
    ("durability", "bogus", ValueError),
    ("lease_ttl", 0, ValueError),
    ("lease_ttl", -1.0, ValueError),
    ("lease_ttl", float("nan"), ValueError),
    ("lease_ttl", "5", TypeError),
    ("lease_wait", -1, ValueError),
    ("busy_timeout", 0, ValueError),
    ("busy_timeout", -2.5, ValueError),
    ("max_payload", 0, ValueError),
    ("max_payload", -1, ValueError),
    ("max_payload", 2.0, TypeError),
    ("max_payload", True, TypeError),
]


@pytest.mark.parametrize(("option", "value", "error"), BAD_ARGUMENTS)
def test_the_constructor_refuses_a_bad_option_naming_it(
    tmp_path: Path, option: str, value: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match=rf"^{option} must be"):
        SQLiteStore(tmp_path / "x.db", **{option: value})
    assert not (tmp_path / "x.db").exists()


def test_the_smallest_allowed_options_are_accepted(tmp_path: Path) -> None:
    with SQLiteStore(
        tmp_path / "x.db", lease_ttl=0.001, lease_wait=0, busy_timeout=0.001, max_payload=1
    ) as store:
        assert (store.lease_ttl, store.lease_wait, store.max_payload) == (0.001, 0.0, 1)
