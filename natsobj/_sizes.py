"""Byte sizes written as text (``"50MB"``, ``"1.5GiB"``): the one parser that bucket policies,
the CLI's size options and anything else that reads a size share.

Units are case-insensitive. None, or ``B``, is bytes. SI units ``kB MB GB TB PB`` are powers of
1000 (as Supabase reads ``file_size_limit``); IEC units ``KiB MiB GiB TiB PiB`` are powers of
1024, and so are the single letters ``K M G T P`` (as ``dd`` reads them). A fraction such as
``1.5MiB`` is allowed; the result is rounded down to a whole byte.
"""

from __future__ import annotations

import re
from fractions import Fraction

from ._errors import InvalidArgumentError

__all__ = ["parse_size"]

_UNITS: dict[str, int] = {"": 1, "b": 1}
for _power, _letter in enumerate("kmgtp", start=1):
    _UNITS[f"{_letter}b"] = 1000**_power
    _UNITS[f"{_letter}ib"] = _UNITS[_letter] = 1024**_power
del _power, _letter

# Digits bounded: int() of a longer number string is refused by Python, and no size needs it.
_SIZE = re.compile(r"(\d{1,30}(?:\.\d{0,30})?|\.\d{1,30})\s*([a-z]*)", re.IGNORECASE)


def parse_size(value: int | str, *, what: str = "size") -> int:
    """Bytes from a non-negative int or a size such as ``"512"``, ``"64KiB"``, ``"50 MB"``,
    ``"1.5GiB"`` or ``"1G"`` (units in the module docstring).

    Args:
        value: The size.
        what: What the size is for, named in the error (``"file_size_limit"``).

    Raises:
        InvalidArgumentError: not a non-negative int nor a number with a known unit.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InvalidArgumentError(f"{what} must not be negative, got {value}")
        return value
    match = _SIZE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None or match[2].lower() not in _UNITS:
        raise InvalidArgumentError(
            f"{value!r} is not a {what} (a number of bytes with an optional unit: "
            "512, 64KiB, 50MB, 1.5GiB)"
        )
    return int(Fraction(match[1]) * _UNITS[match[2].lower()])
