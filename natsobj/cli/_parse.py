"""Parsing of command-line values: sizes (with the library's ``natsobj.parse_size``), durations,
``k=v`` pairs and ``K:V`` headers."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import click

import natsobj

__all__ = [
    "DURATION",
    "HEADER",
    "KEY_VALUE",
    "LIMIT",
    "SIZE",
    "DurationType",
    "HeaderType",
    "KeyValueType",
    "LimitType",
    "SizeType",
    "parse_duration",
]

if TYPE_CHECKING:
    _IntType = click.ParamType[int]
    _FloatType = click.ParamType[float]
    _PairType = click.ParamType[tuple[str, str]]
else:  # click < 8.3 has no generic ParamType
    _IntType = _FloatType = _PairType = click.ParamType

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_DURATION_UNITS: dict[str, float] = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
}


def parse_duration(text: str) -> float:
    """Seconds from ``"90s"``, ``"10m"``, ``"1h30m"``, ``"7d"``, ``"2w"``, ``"500ms"`` or ``"42"``.

    Raises:
        ValueError: not a duration.
    """
    stripped = text.strip()
    try:
        seconds = float(stripped)  # plain seconds
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise ValueError(f"{text!r} is not a finite duration")
        return seconds
    total = 0.0
    position = 0
    compact = stripped.replace(" ", "")
    for match in _DURATION_PART.finditer(compact):
        if match.start() != position:
            break
        total += float(match[1]) * _DURATION_UNITS[match[2].lower()]
        position = match.end()
    if not compact or position != len(compact):
        raise ValueError(f"{text!r} is not a duration (examples: 90s, 10m, 1h30m, 7d)")
    return total


class SizeType(_IntType):
    """A byte count with an optional unit, as ``natsobj.parse_size`` reads it."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            return natsobj.parse_size(value if isinstance(value, int) else str(value))
        except natsobj.InvalidArgumentError as exc:
            self.fail(str(exc), param, ctx)


class LimitType(SizeType):
    """A size, or ``none`` for no limit (converted to ``None``)."""

    name = "limit"

    def convert(  # type: ignore[override]
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> int | None:
        if isinstance(value, str) and value.strip().lower() in ("none", "unlimited"):
            return None
        return super().convert(value, param, ctx)


class DurationType(_FloatType):
    """A duration in seconds, with optional units (``ms s m h d w``)."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        try:
            seconds = parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if seconds < 0:
            self.fail(f"{value!r} is negative", param, ctx)
        return seconds


class KeyValueType(_PairType):
    """``key=value`` (the value may be empty and may contain ``=``)."""

    name = "KEY=VALUE"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        key, sep, val = str(value).partition("=")
        if not sep or not key.strip():
            self.fail(f"{value!r} is not KEY=VALUE", param, ctx)
        return key.strip(), val


class HeaderType(_PairType):
    """``Name:value`` (spaces around the value are dropped)."""

    name = "NAME:VALUE"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        key, sep, val = str(value).partition(":")
        if not sep or not key.strip() or any(c in key for c in " \t\r\n"):
            self.fail(f"{value!r} is not NAME:VALUE (a header name has no spaces)", param, ctx)
        return key.strip(), val.strip()


SIZE = SizeType()
LIMIT = LimitType()
DURATION = DurationType()
KEY_VALUE = KeyValueType()
HEADER = HeaderType()
