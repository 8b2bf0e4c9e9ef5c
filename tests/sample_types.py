"""Module-level types the codec tests store (classes must be importable to replay)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Color(enum.Enum):
    RED = 1
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Point:
    x: int
    y: int
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Frozen:
    name: str
    point: Point | None = None
    computed: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "computed", len(self.name))
