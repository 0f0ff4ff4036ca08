"""The listing index's table: its sort orders stay right through random changes, and its
memory per object stays under 300 bytes."""

from __future__ import annotations

import gc
import random
import tracemalloc

from natsobj._bucket._index_table import (
    NO_TIME_NS,
    Row,
    Table,
    TableQuery,
    ns_of_time_key,
    time_key_of_ns,
)


def query(sort_by: str, descending: bool, prefix: str = "", wanted: int = 10_000) -> TableQuery:
    return TableQuery(prefix, None, "", sort_by, descending, None, wanted, False, True)


def test_orders_follow_random_changes() -> None:
    draw = random.Random(7)
    table = Table()
    rows: dict[str, Row] = {}
    for step in range(3000):
        name = f"{draw.choice('abc')}/{draw.randrange(300):03d}"
        if draw.random() < 0.15:
            table.drop(name)
            rows.pop(name, None)
        else:
            row = Row(name, draw.randrange(5), draw.randrange(9), step, step, draw.random() < 0.1)
            table.put(row)
            rows[name] = row
        if step == 500:
            table.build_orders()
    live = [row for row in rows.values() if not row.deleted]
    assert len(table) == len(live)
    for sort_by in ("name", "size", "created", "updated"):
        for descending in (False, True):
            for prefix in ("", "b/", "b/1"):

                def key(row: Row, sort_by: str = sort_by) -> tuple[object, ...]:
                    return (getattr(row, sort_by), row.name) if sort_by != "name" else (row.name,)

                expected = sorted(
                    (r for r in live if r.name.startswith(prefix)), key=key, reverse=descending
                )
                answer = table.answer(query(sort_by, descending, prefix))
                assert [table.names[s] for s in answer.slots] == [r.name for r in expected]


def test_time_keys_round_trip() -> None:
    for ns in (0, 1_764_892_800_123_456_789, 1, NO_TIME_NS):
        assert ns_of_time_key(time_key_of_ns(ns)) == ns
    assert time_key_of_ns(1_764_892_800_123_456_789) == "2025-12-05T00:00:00.123456789"


def test_under_300_bytes_per_object() -> None:
    count = 20_000
    names = [f"folder-{i % 100:03d}/object-{i:07d}.txt" for i in range(count)]
    gc.collect()
    tracemalloc.start()
    try:
        table = Table()
        stamp = 1_764_892_800_000_000_000
        for i, name in enumerate(names):
            table.put(Row(name, i % 100, stamp + i * 1000, stamp + i * 1000, i + 1, False))
        table.build_orders()
        gc.collect()
        used, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The names are the caller's here; the index keeps the ones it reads, about
    # 49 bytes + one per character each (78 here): measured in BENCHMARKS.md.
    assert used / count + 78 < 300
