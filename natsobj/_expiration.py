"""Expiration policies for usecase objects: time to live, time to idle, manual.

Pure values and arithmetic (no I/O): how a policy is written into an object's meta, when
a deadline has passed, and when a read should move a time-to-idle deadline.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from ._errors import InvalidArgumentError

__all__ = ["ExpirationPolicy"]

# Chunks of a TTL object outlive its meta by this much, so a meta never points at chunks
# the server already removed (the deadline hides the object before either goes).
CHUNK_TTL_MARGIN = timedelta(seconds=5)
# The server's per-message TTL has a 1 s minimum; far ends are capped at ~100 years.
MIN_EXPIRATION = timedelta(seconds=1)
MAX_EXPIRATION = timedelta(days=36500)
# A time-to-idle deadline moves at most once per min(tti / 4, this) (Sentry's debounce).
MAX_TTI_DEBOUNCE = timedelta(hours=24)
# A session's delete leaves a tombstone (watchers see the deletion) that the server
# removes after this long, so deleted keys do not pile up in the bucket and its listings.
TOMBSTONE_TTL = timedelta(hours=1)

PolicyKind = Literal["manual", "ttl", "tti"]
_POLICY_TEXT = re.compile(r"^(ttl|tti):(\d+(?:\.\d+)?)s$")


def duration(value: object, what: str) -> timedelta:
    """``value`` (a timedelta or seconds) as a timedelta within the allowed range.

    Raises:
        InvalidArgumentError: not a duration, or shorter than 1 s, or absurdly long.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | timedelta):
        raise InvalidArgumentError(f"{what} must be a timedelta or seconds, got {value!r}")
    if not isinstance(value, timedelta):
        if not math.isfinite(value):
            raise InvalidArgumentError(f"{what} must be finite, got {value!r}")
        value = timedelta(seconds=min(value, MAX_EXPIRATION.total_seconds() + 1))
    if not MIN_EXPIRATION <= value <= MAX_EXPIRATION:
        raise InvalidArgumentError(
            f"{what} must be between 1 s and {MAX_EXPIRATION.days} days, got {value}"
        )
    return value


@dataclass(frozen=True, slots=True)
class ExpirationPolicy:
    """When an object expires: ``time_to_live(d)`` after it is written, ``time_to_idle(d)``
    after it was last read, or ``manual()`` (never; deleted explicitly).

    Durations are a timedelta or seconds, at least 1 s (the server's minimum message TTL).
    """

    kind: PolicyKind
    duration: timedelta | None = None

    @classmethod
    def time_to_live(cls, d: timedelta | float) -> ExpirationPolicy:
        """Expire ``d`` after the put, whether the object is read or not."""
        return cls("ttl", duration(d, "time_to_live"))

    @classmethod
    def time_to_idle(cls, d: timedelta | float) -> ExpirationPolicy:
        """Expire ``d`` after the last get or head (or the put)."""
        return cls("tti", duration(d, "time_to_idle"))

    @classmethod
    def manual(cls) -> ExpirationPolicy:
        """Never expire."""
        return cls("manual")

    def __post_init__(self) -> None:
        if self.kind not in ("manual", "ttl", "tti"):
            raise InvalidArgumentError(f"unknown expiration policy kind {self.kind!r}")
        if (self.kind == "manual") != (self.duration is None):
            raise InvalidArgumentError("ttl and tti policies need a duration; manual has none")

    def __str__(self) -> str:
        """``manual``, ``ttl:30s`` or ``tti:2.5s`` (how the policy is stored)."""
        if self.duration is None:
            return "manual"
        return f"{self.kind}:{self.duration.total_seconds():g}s"

    @classmethod
    def parse(cls, text: str) -> ExpirationPolicy:
        """The policy ``str(policy)`` wrote.

        Raises:
            InvalidArgumentError: ``text`` is not a stored policy.
        """
        if text == "manual":
            return cls.manual()
        match = _POLICY_TEXT.fullmatch(text)
        if match is None:
            raise InvalidArgumentError(f"not an expiration policy: {text!r}")
        return cls(match.group(1), duration(float(match.group(2)), "expiration"))  # type: ignore[arg-type]

    def deadline(self, now: datetime) -> datetime | None:
        """When an object written (or last read) at ``now`` expires; None for manual."""
        return None if self.duration is None else now + self.duration

    def tti_debounce(self) -> timedelta:
        """How far a time-to-idle deadline may lag behind ``now + tti`` before a read
        moves it: a quarter of the TTI, at most 24 h (so a 2 s TTI moves after 0.5 s,
        never becoming a fixed TTL)."""
        assert self.duration is not None
        return min(self.duration / 4, MAX_TTI_DEBOUNCE)

    def needs_renewal(self, deadline: datetime, now: datetime) -> bool:
        """Whether a read at ``now`` should move a time-to-idle ``deadline``."""
        if self.kind != "tti" or self.duration is None:
            return False
        return deadline < now + self.duration - self.tti_debounce()


def expired(deadline: datetime | None, now: datetime) -> bool:
    """Whether an object with ``deadline`` is gone at ``now`` (even if still stored)."""
    return deadline is not None and deadline <= now
