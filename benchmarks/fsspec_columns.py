"""How many bytes reading one parquet column through natsobj:// fetches.

    python -m benchmarks.fsspec_columns --size 1GiB            # 4 float64 columns, 8 row groups
    python -m benchmarks.fsspec_columns --size 64MiB --server nats://host:4222

Writes a parquet file of ``--columns`` random float64 columns (incompressible) through
``fs.open(path, "wb")``, one row group at a time (memory stays at a row group), then reads
one column with ``pyarrow.parquet.read_table(..., columns=[...])`` and counts the bytes the
NATS connection received during the read (``nc.stats["in_bytes"]``: chunks, metas and
protocol). "Needed" is that column's chunks in every row group plus the footer. Then the
bytes received for a 10-byte range read in the middle of a 2.5 MiB object. Starts an
embedded server unless ``--server`` is given; the bucket is deleted afterwards.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import anyio.from_thread
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import natsobj
from natsobj.fsspec import NatsObjFileSystem


@contextmanager
def server_url(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(natsobj.EmbeddedServer()) as server,
    ):
        yield server.url


def write(fs: NatsObjFileSystem, path: str, size: int, columns: int, groups: int) -> None:
    rows = size // (8 * columns * groups)
    rng = np.random.default_rng(15)
    schema = pa.schema([(f"c{i}", pa.float64()) for i in range(columns)])
    with fs.open(path, "wb") as f, pq.ParquetWriter(f, schema, compression="none") as writer:
        for _ in range(groups):
            arrays = [pa.array(rng.random(rows)) for _ in range(columns)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))


def measure(fs: NatsObjFileSystem, path: str, column: str) -> dict[str, float]:
    metadata = pq.read_metadata(path, filesystem=fs)
    index = metadata.schema.names.index(column)
    needed = (
        metadata.serialized_size
        + 8
        + sum(
            metadata.row_group(g).column(index).total_compressed_size
            for g in range(metadata.num_row_groups)
        )
    )
    fs.close()
    fs.ls(path)  # a fresh connection, its counters from here
    manager = fs.manager
    assert manager is not None
    before = manager.nc.stats["in_bytes"]
    started = time.perf_counter()
    table = pq.read_table(path, filesystem=fs, columns=[column])
    seconds = time.perf_counter() - started
    fetched = manager.nc.stats["in_bytes"] - before
    assert table.num_columns == 1
    return {
        "file": fs.size(path),
        "needed": needed,
        "fetched": fetched,
        "ratio": fetched / needed,
        "seconds": seconds,
        "row_groups": metadata.num_row_groups,
    }


def small_read(fs: NatsObjFileSystem, path: str) -> int:
    """Bytes received for a 10-byte range in the middle of a 20-chunk object."""
    fs.pipe_file(path, bytes(20 * 128 * 1024))
    manager = fs.manager
    assert manager is not None
    before = manager.nc.stats["in_bytes"]
    fs.cat_file(path, start=10 * 128 * 1024 + 5, end=10 * 128 * 1024 + 15)
    return int(manager.nc.stats["in_bytes"] - before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="64MiB", help="file size (default 64MiB)")
    parser.add_argument("--columns", type=int, default=4)
    parser.add_argument("--row-groups", type=int, default=8)
    parser.add_argument("--server", help="a NATS URL (default: an embedded server)")
    args = parser.parse_args()
    size = natsobj.parse_size(args.size)
    with server_url(args.server) as url:
        fs = NatsObjFileSystem(servers=url, skip_instance_cache=True)
        bucket = f"bench{uuid.uuid4().hex[:8]}"
        fs.mkdir(bucket, max_bytes=None)
        try:
            started = time.perf_counter()
            write(fs, f"{bucket}/t.parquet", size, args.columns, args.row_groups)
            wrote = time.perf_counter() - started
            result = measure(fs, f"{bucket}/t.parquet", "c1")
            small = small_read(fs, f"{bucket}/small.bin")
        finally:
            fs.rm(bucket, recursive=True)
            fs.close()
    mib = 1024 * 1024
    print(
        f"file {result['file'] / mib:.1f} MiB ({args.columns} columns, "
        f"{result['row_groups']:.0f} row groups), written in {wrote:.1f} s; one column: "
        f"needed {result['needed'] / mib:.2f} MiB, fetched {result['fetched'] / mib:.2f} MiB "
        f"({result['ratio']:.3f}x) in {result['seconds']:.2f} s"
    )
    print(f"a 10-byte range in the middle of a 2.5 MiB object: {small:,} bytes received")


if __name__ == "__main__":
    main()
