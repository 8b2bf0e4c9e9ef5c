"""waku.register_adapter, and what loading refuses to build."""

from __future__ import annotations

import collections
import datetime as dt
import pathlib
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

import waku
from waku import JsonCodec, SerializationError

codec = JsonCodec()


class Money:
    def __init__(self, amount: Decimal, currency: str) -> None:
        self.amount, self.currency = amount, currency

    def __eq__(self, other: object) -> bool:
        return type(other) is Money and (other.amount, other.currency) == (
            self.amount,
            self.currency,
        )

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))


class SubMoney(Money):
    pass


class Blob:
    def __init__(self, data: bytes) -> None:
        self.data = data


class Renamed:
    def __init__(self, n: int) -> None:
        self.n = n


class Fragile:
    pass


class NeverRegistered:
    pass


waku.register_adapter(
    Money,
    dump=lambda m: (m.amount, m.currency),
    load=lambda data: Money(*data),
)
waku.register_adapter(Blob, dump=lambda b: b.data, load=Blob)
waku.register_adapter(Renamed, dump=lambda r: r.n, load=Renamed, name="billing.v2:Renamed")


def _broken(_: Fragile) -> Any:
    raise RuntimeError("the disk is gone")


waku.register_adapter(Fragile, dump=_broken, load=lambda _: Fragile())


@dataclass
class Invoice:
    total: Money
    lines: list[Money]


def test_a_registered_type_round_trips_anywhere_in_a_value() -> None:
    value = {
        "invoice": Invoice(Money(Decimal("9.90"), "EUR"), [Money(Decimal("1"), "JPY")]),
        Money(Decimal("0.5"), "USD"): (Money(Decimal("2"), "GBP"),),
    }
    back = codec.decode(codec.encode(value))
    assert back == value and type(back["invoice"].total.amount) is Decimal
    stored = codec.encode(Money(Decimal("9.90"), "EUR"))
    assert stored == (
        b'{"$t":"adapter","c":"tests.test_values_adapters:Money",'
        b'"v":{"$t":"tuple","v":[{"$t":"decimal","v":"9.90"},"EUR"]}}'
    )


def test_bytes_from_an_adapter_come_back_as_bytes_in_compact_base64() -> None:
    data = bytes(range(256)) * 4096  # 1 MiB: written around the JSON text, not through it
    stored = codec.encode([Blob(data), "tail"])
    assert len(stored) < len(data) * 4 / 3 + 200
    back = codec.decode(stored)
    assert type(back[0]) is Blob and back[0].data == data and back[1] == "tail"


def test_a_name_given_at_registration_is_what_is_stored() -> None:
    stored = codec.encode(Renamed(3))
    assert b'"c":"billing.v2:Renamed"' in stored and codec.decode(stored).n == 3


def test_registering_a_name_again_replaces_its_adapter() -> None:
    class Temp:
        def __init__(self, v: int) -> None:
            self.v = v

    waku.register_adapter(Temp, dump=lambda t: t.v, load=Temp, name="tests:Temp")
    waku.register_adapter(Temp, dump=lambda t: -t.v, load=lambda v: Temp(-v), name="tests:Temp")
    stored = codec.encode(Temp(4))
    assert b'"v":-4' in stored and codec.decode(stored).v == 4


def test_a_class_registered_under_a_new_name_still_loads_the_old_name() -> None:
    class Moved:
        def __init__(self, v: int) -> None:
            self.v = v

    waku.register_adapter(Moved, dump=lambda m: m.v, load=Moved, name="old.place:Moved")
    old = codec.encode(Moved(1))
    waku.register_adapter(Moved, dump=lambda m: [m.v], load=lambda v: Moved(v[0]), name="new:M")
    new = codec.encode(Moved(2))
    assert b'"c":"new:M"' in new and codec.decode(new).v == 2
    assert b'"c":"old.place:Moved"' in old and codec.decode(old).v == 1


def test_a_built_in_adapter_name_of_a_missing_library_says_what_to_install() -> None:
    script = """
import sys
sys.modules["pydantic"] = None  # as on a machine without pydantic
import waku
stored = b'{"$t":"adapter","c":"pydantic:BaseModel","v":{"class":"m:M","fields":{}}}'
try:
    waku.JsonCodec().decode(stored)
except waku.SerializationError as error:
    print(error)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert "install pydantic (pip install 'waku[values]')" in done.stdout, done.stderr


def test_an_adapter_matches_its_type_exactly_not_subclasses() -> None:
    with pytest.raises(SerializationError, match=r"value\[0\].*SubMoney.*register_adapter"):
        codec.encode([SubMoney(Decimal(1), "EUR")])


def test_registration_is_checked() -> None:
    with pytest.raises(ValueError, match="stored natively"):
        waku.register_adapter(dict, dump=dict, load=dict)
    with pytest.raises(TypeError, match="needs a class"):
        waku.register_adapter(Money(Decimal(1), "X"), dump=str, load=str)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty"):
        waku.register_adapter(Money, dump=str, load=lambda _: Money(Decimal(0), ""), name="")


def test_an_adapter_that_fails_to_dump_is_named_in_the_error() -> None:
    with pytest.raises(SerializationError, match=r"value\['x'\].*Fragile.*the disk is gone"):
        codec.encode({"x": Fragile()})


UNSTORABLE = [
    (object(), "object"),
    (complex(1, 2), "complex"),
    (collections.OrderedDict(a=1), "collections:OrderedDict"),
    (pathlib.PurePosixPath("/tmp"), "PurePosixPath"),
    (memoryview(b"x"), "memoryview"),
    (range(3), "range"),
    (NeverRegistered(), "NeverRegistered"),
    (pd.Timestamp("2026-11-29"), "Timestamp"),
    (pd.Index([1, 2]), "Index"),
    (dt.timezone.utc, "timezone"),
]


@pytest.mark.parametrize(("value", "type_name"), UNSTORABLE, ids=[t for _, t in UNSTORABLE])
def test_every_type_without_an_adapter_is_refused_with_the_fix(value: Any, type_name: str) -> None:
    with pytest.raises(SerializationError) as raised:
        codec.encode({"k": [1, value]})
    message = str(raised.value)
    assert "value['k'][1]" in message and type_name in message
    assert "waku.register_adapter" in message and "PickleCodec" in message


@pytest.mark.parametrize(
    "name",
    ["os:system", "subprocess:Popen", "collections:OrderedDict", "this:x", "builtins:eval"],
)
def test_a_stored_value_naming_an_unregistered_adapter_is_refused_without_imports(
    name: str,
) -> None:
    was_imported = name.partition(":")[0] in sys.modules
    forged = b'{"$t":"adapter","c":"%s","v":["touch","/tmp/waku-pwned"]}' % name.encode()
    with pytest.raises(SerializationError, match=rf"needs the adapter '{name}'.*register"):
        codec.decode(forged)
    assert (name.partition(":")[0] in sys.modules) == was_imported  # nothing was imported


def test_a_new_process_reads_adapted_values_only_after_registering_them() -> None:
    stored = codec.encode(Money(Decimal("1.5"), "EUR")).decode()
    script = f"""
import waku
try:
    waku.JsonCodec().decode({stored!r}.encode())
except waku.SerializationError as error:
    print("refused:", error)
import tests.test_values_adapters  # registers Money
print(waku.JsonCodec().decode({stored!r}.encode()).amount)
"""
    root = pathlib.Path(__file__).parent.parent
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=root, check=False
    )
    refused, loaded = done.stdout.splitlines()
    assert "register it with waku.register_adapter" in refused and loaded == "1.5"
