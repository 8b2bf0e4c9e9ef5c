"""pydantic models replay exactly, validated on load, nested in anything the codec stores."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import ipaddress
import pathlib
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PrivateAttr,
    RootModel,
    SecretStr,
    field_validator,
)

from waku import JsonCodec, SerializationError

codec = JsonCodec()
T = TypeVar("T")


class Kind(enum.Enum):
    A = "a"
    B = "b"


class Address(BaseModel):
    street: str
    zip_code: str = Field(alias="zip")


class User(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    born: dt.date | None = None
    tags: tuple[str, ...] = ()
    kind: Kind = Kind.A
    address: Address | None = None
    balance: decimal.Decimal = decimal.Decimal("0")
    anything: object = None
    _session: int = PrivateAttr(default=0)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)
    at: dt.datetime
    scores: dict[str, float]


class Checked(BaseModel):
    code: str

    @field_validator("code")
    @classmethod
    def three_letters(cls, code: str) -> str:
        if len(code) != 3:
            raise ValueError("a code has three letters")
        return code


class Scores(RootModel[list[int]]):
    pass


class Box(BaseModel, Generic[T]):
    item: T


class IntBox(Box[int]):
    pass


class WithArray(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    values: np.ndarray[Any, Any]


class Point(NamedTuple):
    x: int
    y: int


class Settings(BaseModel):
    root: pathlib.Path
    endpoint: HttpUrl
    peer: ipaddress.IPv4Address
    corner: Point
    retries: int = 3


class Secret(BaseModel):
    token: SecretStr


@dataclass
class Holder:
    user: User
    more: list[Frozen]


def exactly(back: Any, value: Any) -> None:
    assert type(back) is type(value) and back == value
    if isinstance(value, BaseModel):
        assert back.model_fields_set == value.model_fields_set
        assert back.__pydantic_private__ == value.__pydantic_private__
        for name in type(value).model_fields:
            exactly(getattr(back, name), getattr(value, name))
    elif isinstance(value, list | tuple):
        for a, b in zip(back, value, strict=True):
            exactly(a, b)
    elif isinstance(value, dict):
        for key in value:
            exactly(back[key], value[key])


addresses = st.builds(Address, street=st.text(), zip=st.text(max_size=5))
users = st.builds(
    User,
    name=st.text(),
    born=st.none() | st.dates(),
    tags=st.lists(st.text(max_size=3), max_size=3).map(tuple),
    kind=st.sampled_from(Kind),
    address=st.none() | addresses,
    balance=st.decimals(allow_nan=False, allow_infinity=False, places=2),
    anything=st.one_of(st.none(), st.integers(), st.frozensets(st.integers()), addresses),
)
frozens = st.builds(
    Frozen,
    at=st.datetimes(timezones=st.just(dt.timezone.utc)),
    scores=st.dictionaries(st.text(max_size=3), st.floats(allow_nan=False)),
)
models = st.one_of(users, frozens, addresses)
nested = st.recursive(
    models,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=3), inner, max_size=3),
        st.builds(Holder, users, st.lists(frozens, max_size=2)),
    ),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(nested)
def test_models_nested_in_dicts_lists_and_dataclasses_round_trip(value: Any) -> None:
    back = codec.decode(codec.encode(value))
    if isinstance(value, Holder):
        assert type(back) is Holder
        exactly(back.user, value.user)
        exactly(back.more, value.more)
    else:
        exactly(back, value)


def test_extra_private_and_unset_fields_are_kept() -> None:
    user = User(name="ada", nickname="countess")  # type: ignore[call-arg]  # an extra field
    user._session = 42
    back = codec.decode(codec.encode(user))
    exactly(back, user)
    assert back.model_dump(exclude_unset=True) == {"name": "ada", "nickname": "countess"}
    assert back._session == 42


def test_root_generic_subclass_and_array_models_round_trip() -> None:
    for value in (Scores([3, 1, 2]), IntBox(item=5), Frozen(at=dt.datetime(2026, 1, 1), scores={})):
        exactly(codec.decode(codec.encode(value)), value)
    arrays = WithArray(values=np.arange(6, dtype=">f4").reshape(2, 3))
    back = codec.decode(codec.encode(arrays))
    assert back.values.dtype.str == ">f4" and np.array_equal(back.values, arrays.values)


def test_fields_the_codec_lacks_go_through_pydantic_json_and_come_back_exactly() -> None:
    settings = Settings(
        root=pathlib.Path("/srv/data"),
        endpoint="https://example.org/api?v=2",  # type: ignore[arg-type]
        peer="10.0.0.7",  # type: ignore[arg-type]
        corner=Point(3, 4),
    )
    stored = codec.encode({"settings": [settings]})
    assert b'"json":{"root":"/srv/data"' in stored
    back = codec.decode(stored)["settings"][0]
    exactly(back, settings)
    assert type(back.root) is type(settings.root) and type(back.corner) is Point


def test_a_field_whose_json_form_is_not_its_value_is_refused() -> None:
    with pytest.raises(SerializationError, match=r"value\[0\].*\['token'\].*SecretStr"):
        codec.encode([Secret(token="hunter2")])  # type: ignore[arg-type]


def test_a_model_is_validated_when_it_is_loaded() -> None:
    stored = codec.encode(Checked(code="abc")).replace(b'"abc"', b'"abcd"')
    with pytest.raises(SerializationError, match="three letters"):
        codec.decode(stored)


def test_models_that_cannot_be_found_by_name_are_refused_at_once() -> None:
    class Local(BaseModel):
        x: int

    with pytest.raises(SerializationError, match=r"value\[0\].*Local.*module level"):
        codec.encode([Local(x=1)])
    with pytest.raises(SerializationError, match=r"Box\[str\].*module-level subclass"):
        codec.encode(Box[str](item="x"))


def test_a_field_holding_an_unstorable_value_is_named() -> None:
    with pytest.raises(SerializationError, match=r"value\['u'\].*User.*\['anything'\].*object"):
        codec.encode({"u": User(name="x", anything=object())})


def test_a_stored_model_naming_a_class_that_is_not_a_model_is_not_built() -> None:
    for target in ("subprocess:Popen", "os:system", "tests.test_values_pydantic:Holder"):
        forged = (
            b'{"$t":"adapter","c":"pydantic:BaseModel","v":{"class":"%s",'
            b'"fields":{"args":["touch","/tmp/waku-pwned"]}}}' % target.encode()
        )
        with pytest.raises(SerializationError, match="not a pydantic model"):
            codec.decode(forged)
