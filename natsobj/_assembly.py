"""Building pydantic model instances from values already checked, cheaply in time and memory.

A listing builds one ``ObjectInfo`` per object (100,000 in a big bucket): pydantic's own
validation there costs more than everything else, and each instance it builds carries a
fields-set and an extras dict of its own. ``ObjectInfo.from_message`` checks the common
shapes of a meta itself (``_models``) and builds the instance here:

- its fields go into the instance's dict in one update, in the model's field order, so
  CPython keeps the keys shared between instances (about 190 bytes less each than a dict
  of their own; ``list()`` pauses the garbage collector while it builds them);
- the fields-set is one shared set per distinct set of keys, and the empty extras one
  shared dict: pydantic copies both before changing them (``model_copy``), and a frozen
  model refuses every other change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
_set = object.__setattr__
# One empty extras dict for every instance built here without unknown keys.
_NO_EXTRA: dict[str, Any] = {}
# Shared fields-sets by their keys; forgotten all at once past _FIELD_SETS_MAX (a hostile
# peer can write any combination of keys).
_field_sets: dict[tuple[str, ...], set[str]] = {}
_FIELD_SETS_MAX = 256


def fields_set(keys: Iterable[str]) -> set[str]:
    """The shared set of ``keys`` (callers never change it: see the module docstring)."""
    key = tuple(keys)
    found = _field_sets.get(key)
    if found is None:
        if len(_field_sets) >= _FIELD_SETS_MAX:
            _field_sets.clear()
        found = _field_sets[key] = set(key)
    return found


def assemble(cls: type[M], names: tuple[str, ...], values: Iterable[Any], keys: set[str]) -> M:
    """An instance of ``cls`` holding ``values`` (one per field, in ``names`` order: the
    order of ``cls.model_fields``) without validation: only for values checked as pydantic
    would have checked them. ``keys`` is its fields-set (from ``fields_set``)."""
    instance = _new(cls)
    # One update of the instance's own dict (its keys still shared with every other
    # instance): half the time of a setattr per field, for 64 bytes more.
    instance.__dict__.update(zip(names, values, strict=True))
    _set(instance, "__pydantic_fields_set__", keys)
    _set(instance, "__pydantic_extra__", _NO_EXTRA)
    _set(instance, "__pydantic_private__", None)
    return instance
