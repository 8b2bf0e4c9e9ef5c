"""The adapter for pydantic v2 models (installed when pydantic is first met).

A model is stored as its class (``module:qualname``) and its field values, each
stored by the codec with its exact type (a nested model as a model, a tuple as
a tuple). Loading finds the class by name, checks that it really is a pydantic
model before anything is built, and validates the stored fields with
``model_validate``: the model's own validators run, as for any input. Extra
fields, private attributes and which fields were set explicitly (what
``model_dump(exclude_unset=True)`` reads) are kept too.

A field whose value the codec cannot store (a ``Path``, an ``HttpUrl``, an IP
address …) is stored as pydantic's JSON form of it instead, and rebuilt by
validation; before that form is used, the model is rebuilt from it once and
must give back every such field equal and of the same type, or it is refused
(a ``SecretStr``'s JSON form is masked, for one).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, RootModel

from .adapters import Adapter, Unsupported, add
from .tree import Refused, qualified_name, resolve, to_json

_FINDABLE: set[type] = set()  # classes known to be found again by name


def _reference(cls: type[BaseModel]) -> str:
    ref = qualified_name(cls)
    if cls in _FINDABLE:
        return ref
    try:
        found = resolve(ref) is cls
    except (ImportError, AttributeError):
        found = False
    if not found:
        raise Unsupported(
            f"{ref} cannot be found by that name after a restart; define the model at "
            "module level (for a generic model, a module-level subclass: "
            "class IntBox(Box[int]): ...)"
        )
    _FINDABLE.add(cls)
    return ref


def dump_model(model: BaseModel) -> dict[str, Any]:
    """The stored form: class, fields, and extras, private values and set fields if any."""
    stored: dict[str, Any] = {"class": _reference(type(model)), "fields": dict(model.__dict__)}
    extra = model.__pydantic_extra__
    if extra:
        stored["extra"] = dict(extra)
    if model.__pydantic_private__:
        stored["private"] = dict(model.__pydantic_private__)
    if model.model_fields_set != set(model.__dict__) | set(extra or ()):
        stored["set"] = sorted(model.model_fields_set)
    return stored


def load_model(stored: dict[str, Any]) -> BaseModel:
    """Validate the stored fields into the stored class, once it is known to be a model."""
    ref = stored["class"]
    try:
        cls = resolve(ref)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"the model class {ref} cannot be found: {error}") from error
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        raise ValueError(f"{ref} is not a pydantic model; refusing to build it")
    fields: dict[str, Any] = {**stored["fields"], **stored.get("json", {})}
    if issubclass(cls, RootModel):
        model: BaseModel = cls.model_validate(fields["root"])
    else:
        data = {**fields, **stored.get("extra", {})}
        model = cls.model_validate(data, by_alias=False, by_name=True)
    if "set" in stored:
        object.__setattr__(model, "__pydantic_fields_set__", set(stored["set"]))
    if "private" in stored:
        private = {**(model.__pydantic_private__ or {}), **stored["private"]}
        object.__setattr__(model, "__pydantic_private__", private)
    return model


def dump_with_json_fields(model: BaseModel) -> dict[str, Any]:
    """The stored form with the fields the codec refuses in pydantic's JSON form."""
    stored = dump_model(model)
    fields: dict[str, Any] = stored["fields"]
    as_json: dict[str, Any] = {}
    for name, value in list(fields.items()):
        try:
            to_json(value)
        except Refused:
            as_json[name] = model.model_dump(mode="json", include={name})[name]
            del fields[name]
    rebuilt = load_model({**stored, "json": as_json})
    for name in as_json:
        value, again = getattr(model, name), getattr(rebuilt, name)
        if type(again) is not type(value) or again != value:
            raise Unsupported(f"field {name!r} does not come back exactly from JSON")
    return {**stored, "json": as_json}


def install() -> None:
    """Register the pydantic adapter (a user's own adapter of the same name wins)."""
    adapter = Adapter(
        "pydantic:BaseModel",
        BaseModel,
        dump_model,
        load_model,
        family=True,
        fallback=dump_with_json_fields,
    )
    add(adapter, replace=False)
