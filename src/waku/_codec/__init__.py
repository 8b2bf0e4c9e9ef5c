"""Values to bytes and back: a faithful round trip, or a SerializationError.

The bottom layer of Waku: these modules import only each other, ``_errors``
and the standard library (numpy, pandas and pydantic only in the adapters
for their types, which are imported when first needed).

- ``codecs``: the ``Codec`` protocol, ``JsonCodec`` (the safe default) and
  ``PickleCodec``; the JSON byte format, with large bytes spliced in.
- ``tree``: values to JSON-ready trees and back. Types JSON lacks travel as
  small tagged objects ``{"$t": tag, ...}``; types are matched exactly, so a
  subclass such as ``OrderedDict`` is refused instead of silently changed.
  Loading never runs stored code: a dataclass or enum class found by
  ``module:qualname`` must really be one before anything is built.
- ``adapters``: the registry behind ``waku.register_adapter``. A stored
  adapted value names its adapter, and loading looks that name up in the
  registry only.
- ``values_numpy``, ``values_pandas`` (with ``pandas_columns``),
  ``values_pydantic``: the built-in adapters.
"""

from .adapters import register_adapter
from .codecs import Codec, JsonCodec, PickleCodec
from .tree import qualified_name, resolve

__all__ = ["Codec", "JsonCodec", "PickleCodec", "qualified_name", "register_adapter", "resolve"]
