"""The six-method store from the README, loaded from the README itself.

The shared store suite runs it, so the README's example can never drift from
a store that works.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_store_class() -> Any:
    """The ``DictStore`` class defined in the README's "Your own store" example."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    source = next(b for b in blocks if "class DictStore" in b)
    namespace: dict[str, Any] = {}
    exec(compile(source, str(README), "exec"), namespace)
    return namespace["DictStore"]


DictStore = readme_store_class()
