"""Any bytes and any chunk size round-trip exactly, whole and by range."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import natsobj
from natsobj import ObjectStore

pytestmark = pytest.mark.anyio


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=20_000),
    chunk_size=st.integers(min_value=1, max_value=30_000),
    cut=st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
async def test_round_trip_any_bytes(
    store: ObjectStore, data: bytes, chunk_size: int, cut: tuple[float, float]
) -> None:
    chunk_size = max(chunk_size, len(data) // 1000 + 1)  # bound the messages per example
    info = await store.put("p", data, chunk_size=chunk_size)
    assert info.size == len(data)
    assert await store.get_bytes("p") == data
    start, end = sorted(int(c * len(data)) for c in cut)
    if start and start >= len(data):  # a range that starts past the end (HTTP 416)
        with pytest.raises(natsobj.RangeNotSatisfiableError):
            await store.get_bytes("p", start=start, end=end)
    else:
        assert await store.get_bytes("p", start=start, end=end) == data[start:end]
