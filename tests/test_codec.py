"""The codec replays every supported value equal and of the same type, or refuses it."""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import math
import uuid
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import waku
from waku import JsonCodec, PickleCodec, SerializationError

from .sample_types import Color, Frozen, Level, Point

codec = JsonCodec()


def same(a: Any, b: Any) -> bool:
    """Equal and of the same type all the way down (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, dt.datetime | dt.time):
        # repr shows the tzinfo as built (a timezone's name or its absence, a zone's key)
        return bool(a == b and repr(a) == repr(b) and a.tzname() == b.tzname())
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**5000, max_value=10**5001),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.binary(),
    st.binary().map(bytearray),
    st.datetimes(),
    st.datetimes(
        timezones=st.sampled_from(
            [
                dt.timezone.utc,
                dt.timezone(dt.timedelta(hours=5, minutes=30)),
                ZoneInfo("Europe/Paris"),
            ]
        )
    ),
    st.dates(),
    st.times(),
    st.timedeltas(),
    st.decimals(allow_nan=False),
    st.uuids(),
    st.sampled_from([Color.RED, Color.GREEN, Level.LOW, Level.HIGH]),
)
hashables = st.one_of(st.integers(), st.text(), st.booleans(), st.none(), st.dates(), st.uuids())
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(), inner, max_size=4),
        st.dictionaries(hashables, inner, max_size=4),
        st.frozensets(hashables, max_size=4),
        st.sets(hashables, max_size=4),
        st.builds(Point, st.integers(), st.integers(), st.lists(st.text(), max_size=3)),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_round_trip_is_equal_and_same_typed(value: Any) -> None:
    assert same(codec.decode(codec.encode(value)), value)


@pytest.mark.parametrize(
    "value",
    [
        {"$t": "tuple", "v": [1]},  # a user dict that looks like a tag
        {1: "a", (2, 3): "b", frozenset({4}): "c"},
        (1, [2, (3,)], {"k": (4,)}),
        -0.0,
        2**100000,
        Frozen("abc", Point(1, 2, ["t"])),
        dt.datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York")),
        decimal.Decimal("1.10"),
    ],
    ids=[
        "tag-lookalike",
        "odd-keys",
        "nested-tuples",
        "negative-zero",
        "huge-int",
        "frozen-dc",
        "fold",
        "decimal",
    ],
)
def test_tricky_values_round_trip(value: Any) -> None:
    decoded = codec.decode(codec.encode(value))
    assert same(decoded, value)


offsets = st.timedeltas(
    min_value=-dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=999999),
    max_value=dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=999999),
)
fixed_zones = st.one_of(
    st.builds(dt.timezone, offsets),
    st.builds(dt.timezone, offsets, st.text()),
    st.just(dt.timezone.utc),
)


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(timezones=st.one_of(fixed_zones, st.timezones())),
    st.times(timezones=fixed_zones),
)
def test_a_timezone_replays_as_built_named_or_not(when: dt.datetime, at: dt.time) -> None:
    for value in (when, at):
        back = codec.decode(codec.encode(value))
        assert same(back, value)
        assert (back.tzinfo is dt.timezone.utc) == (value.tzinfo is dt.timezone.utc)


@pytest.mark.parametrize(
    ("tz", "shown"),
    [
        (dt.timezone(dt.timedelta(hours=5, minutes=30)), "UTC+05:30"),
        (dt.timezone(dt.timedelta(hours=5, minutes=30), "IST"), "IST"),
        (dt.timezone(dt.timedelta(hours=5, minutes=30), "UTC+05:30"), "UTC+05:30"),
        (dt.timezone(dt.timedelta(0), "UTC"), "UTC"),
        (dt.timezone(dt.timedelta(0), "Z"), "Z"),
        (dt.timezone(-dt.timedelta(hours=3, microseconds=1)), "UTC-03:00:00.000001"),
        (dt.timezone.utc, "UTC"),
        (ZoneInfo("Asia/Kolkata"), "IST"),
    ],
)
def test_each_kind_of_timezone_round_trips_exactly(tz: dt.tzinfo, shown: str) -> None:
    value = dt.datetime(2026, 11, 29, 12, 0, tzinfo=tz)
    back = codec.decode(codec.encode(value))
    assert repr(back) == repr(value) and back.tzname() == shown
    assert type(back.tzinfo) is type(tz) and back.tzinfo == tz


def test_timezone_utc_stays_the_singleton_and_a_named_utc_stays_named() -> None:
    utc = codec.decode(codec.encode(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)))
    assert utc.tzinfo is dt.timezone.utc
    named = dt.timezone(dt.timedelta(0), "UTC")
    back = codec.decode(codec.encode(dt.datetime(2026, 1, 1, tzinfo=named)))
    assert back.tzinfo is not dt.timezone.utc and repr(back.tzinfo) == repr(named)


def test_timezones_stored_before_names_were_kept_exactly_still_load() -> None:
    old = b'{"$t":"datetime","v":"2026-01-01T00:00:00","tz":{"o":0.0,"n":"UTC"},"fold":0}'
    assert codec.decode(old).tzinfo is dt.timezone.utc
    old = b'{"$t":"datetime","v":"2026-01-01T00:00:00","tz":{"o":3600.0,"n":"CET"},"fold":0}'
    assert repr(codec.decode(old).tzinfo) == repr(dt.timezone(dt.timedelta(hours=1), "CET"))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 200_000), min_size=1, max_size=4), st.binary(max_size=8))
def test_bytes_of_any_size_round_trip_among_lookalikes(sizes: list[int], seed: bytes) -> None:
    lookalike = '{"$t":"bytearray","v":"*0"} {"$t":"bytes","v":"*0"} {"$t":"byte'
    value: dict[str, Any] = {
        "blobs": [(seed or b"x") * (n // max(len(seed), 1)) for n in sizes],
        "mutable": [bytearray(seed * (n // max(len(seed), 1))) for n in sizes],
        "text": lookalike,
        "$t": "bytes",  # a user dict shaped like a tag
        "v": "*0",
        lookalike: [b"", lookalike.encode()],
    }
    stored = codec.encode(value)
    assert same(codec.decode(stored), value)
    payload = sum(len(b) for b in [*value["blobs"], *value["mutable"]])
    assert len(stored) < payload * 4 / 3 + 1000  # base64: a third larger than the bytes


def test_frozen_dataclass_keeps_fields_set_after_init() -> None:
    decoded = codec.decode(codec.encode(Frozen("abcd")))
    assert decoded.computed == 4 and type(decoded) is Frozen


class Pair(NamedTuple):
    a: int
    b: int


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (object(), "object"),
        (collections.OrderedDict(a=1), "collections:OrderedDict"),
        (Pair(1, 2), "Pair"),
        ({"nested": [1, {2, 3}, lambda: 0]}, "function"),
        (complex(1, 2), "complex"),
    ],
)
def test_unsupported_values_are_refused_naming_the_type(value: Any, type_name: str) -> None:
    with pytest.raises(SerializationError, match=type_name):
        codec.encode(value)


def test_local_classes_are_refused_because_they_cannot_be_found_again() -> None:
    from dataclasses import dataclass

    @dataclass
    class Local:
        x: int

    with pytest.raises(SerializationError, match="module level"):
        codec.encode(Local(1))


def test_decoding_never_builds_a_class_that_is_not_a_dataclass_or_enum() -> None:
    crafted = b'{"$t":"dc","c":"subprocess:Popen","f":{"args":"true"}}'
    with pytest.raises(SerializationError, match="not a dataclass"):
        codec.decode(crafted)
    with pytest.raises(SerializationError, match="unknown tag"):
        codec.decode(b'{"$t":"pickle","v":"x"}')


def test_unserializable_step_result_names_workflow_step_and_type(store: waku.StepStore) -> None:
    with pytest.raises(SerializationError, match=r"'bad-value' id 'wf-x' step 1.*object"):
        waku.run_workflow("bad-value", lambda: waku.step(lambda _: object(), 1), workflow_id="wf-x")
    assert 1 not in store.get_steps("bad-value", "wf-x")  # not marked complete


def test_pickle_codec_is_opt_in_and_stores_what_json_cannot() -> None:
    store = waku.MemoryStore(codec=PickleCodec())
    value = collections.OrderedDict(a=complex(1, 2))
    calls: list[int] = []

    def make(_: Any) -> Any:
        calls.append(1)
        return value

    result = waku.run_workflow("pickled", lambda: waku.step(make, 0), store=store, workflow_id="p")
    replay = waku.run_workflow("pickled", lambda: waku.step(make, 0), store=store, workflow_id="p")
    assert result.result == replay.result and type(replay.result) is collections.OrderedDict
    assert calls == [1]


def test_values_replay_equal_and_same_typed_through_a_store(store: waku.StepStore) -> None:
    value = {
        "when": dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc),
        "pt": Point(1, 2),
        "ids": (uuid.UUID(int=7),),
    }
    calls: list[int] = []

    def produce(_: Any) -> Any:
        calls.append(1)
        return value

    first = waku.run_workflow("typed", lambda: waku.step(produce, 0), workflow_id="t")
    again = waku.run_workflow("typed", lambda: waku.step(produce, 0), workflow_id="t")
    assert same(again.result, value) and same(first.result, value) and calls == [1]


def test_mutating_a_returned_value_does_not_change_what_was_stored(store: waku.StepStore) -> None:
    def produce(_: Any) -> Any:
        return {"items": [1]}

    first = waku.run_workflow("mutate", lambda: waku.step(produce, 0), workflow_id="m")
    first.result["items"].append(2)
    again = waku.run_workflow("mutate", lambda: waku.step(produce, 0), workflow_id="m")
    assert again.result == {"items": [1]}
