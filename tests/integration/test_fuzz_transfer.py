"""Fuzzing the transfer engine: any split of the input round-trips, and any damage done to
an object's chunks by another writer is caught by the reader, never returned as data."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import natsobj
from natsobj import ObjectStore
from natsobj._bucket._get import GetOptions

pytestmark = pytest.mark.anyio

FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


async def _blocks(data: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    previous = 0
    for cut in [*sorted({min(c, len(data)) for c in cuts}), len(data)]:
        yield data[previous:cut]
        previous = cut


@FUZZ
@given(
    data=st.binary(max_size=50_000),
    chunk_size=st.integers(min_value=64, max_value=20_000),
    cuts=st.lists(st.integers(min_value=0, max_value=50_000), max_size=12),
    as_file=st.booleans(),
)
async def test_any_input_split_round_trips(
    store: ObjectStore, data: bytes, chunk_size: int, cuts: list[int], as_file: bool
) -> None:
    source = io.BytesIO(data) if as_file else _blocks(data, cuts)
    info = await store.put("f", source, chunk_size=chunk_size)
    assert (info.size, info.chunks) == (len(data), -(-len(data) // chunk_size))
    assert await store.get_bytes("f") == data


DAMAGE = st.sampled_from(["drop", "duplicate", "flip", "truncate", "extra", "empty"])


@FUZZ
@given(
    chunks=st.integers(min_value=1, max_value=12),
    damage=DAMAGE,
    where=st.integers(min_value=0, max_value=11),
    flip=st.integers(min_value=0, max_value=255),
)
async def test_damaged_chunks_are_caught(
    store: ObjectStore, chunks: int, damage: str, where: int, flip: int
) -> None:
    size = 1000
    data = os.urandom(chunks * size - 17)
    info = await store.put("d", data, chunk_size=size)
    subject = f"$O.{store.bucket}.C.{info.nuid}"
    parts = [data[i : i + size] for i in range(0, len(data), size)]
    at = where % len(parts)
    if damage == "drop":
        del parts[at]
    elif damage == "duplicate":
        parts.insert(at, parts[at])
    elif damage == "flip":
        parts[at] = (
            parts[at][:1] + bytes([parts[at][1 % len(parts[at])] ^ (flip or 1)]) + parts[at][2:]
        )
    elif damage == "truncate":
        parts[at] = parts[at][:-1]
    elif damage == "extra":
        parts.append(b"x")
    else:
        parts.insert(at, b"")  # an empty chunk (nats.net writes one) is not damage
    # Another writer rewrites the chunks in place, the meta unchanged.
    await store._core.js.purge(store.stream, subject)
    for part in parts:
        await store._core.js.publish(subject, part)
    # Never wrong bytes: the read fails with a typed error or returns exactly the object
    # (a duplicate of a one-chunk object's chunk, or bytes past its size, change nothing).
    whole: list[GetOptions] = [{}, {"start": 0, "end": len(data)}]
    for bounds in whole:
        try:
            got = await store.get_bytes("d", **bounds)
        except (natsobj.DigestMismatchError, natsobj.IncompleteObjectError):
            assert damage != "empty"
            continue
        assert got == data
        assert damage != "flip"  # changed bytes never hash the same
