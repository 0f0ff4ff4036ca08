"""pandas and pyarrow on natsobj:// URLs, and how many bytes a column read fetches."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from natsobj.fsspec import NatsObjFileSystem

COLUMNS = 4


def frame(rows: int, seed: int = 15) -> pd.DataFrame:
    """Random floats (incompressible, so sizes on disk are predictable) and a text column."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {f"c{i}": rng.random(rows) for i in range(COLUMNS)}
    data["label"] = [f"row {i}" for i in range(rows)]
    return pd.DataFrame(data)


def test_pandas_parquet_round_trip(nats_url: str, fs: NatsObjFileSystem, bucket: str) -> None:
    options = {"servers": nats_url}
    df = frame(1000)
    df.to_parquet(f"natsobj://{bucket}/t/table.parquet", storage_options=options)
    back = pd.read_parquet(f"natsobj://{bucket}/t/table.parquet", storage_options=options)
    pd.testing.assert_frame_equal(back, df)
    some = pd.read_parquet(
        f"natsobj://{bucket}/t/table.parquet", columns=["c1"], storage_options=options
    )
    assert list(some.columns) == ["c1"]


def test_compressed_csv(nats_url: str, fs: NatsObjFileSystem, bucket: str) -> None:
    options = {"servers": nats_url}
    df = frame(2000)
    url = f"natsobj://{bucket}/csv/table.csv.gz"
    df.to_csv(url, index=False, storage_options=options)  # compression from the suffix
    assert fs.cat_file(f"{bucket}/csv/table.csv.gz", end=2) == b"\x1f\x8b"  # gzip's magic
    pd.testing.assert_frame_equal(pd.read_csv(url, storage_options=options), df)


def test_pyarrow_dataset(fs: NatsObjFileSystem, bucket: str) -> None:
    table = pa.table({"part": ["a"] * 5 + ["b"] * 5, "value": list(range(10))})
    pq.write_to_dataset(table, f"{bucket}/ds", partition_cols=["part"], filesystem=fs)
    assert len(fs.find(f"{bucket}/ds")) == 2
    dataset = ds.dataset(f"{bucket}/ds", filesystem=fs, format="parquet", partitioning="hive")
    selected = dataset.to_table(filter=ds.field("part") == "b", columns=["value"])
    assert sorted(selected.column("value").to_pylist()) == [5, 6, 7, 8, 9]


def needed_bytes(metadata: pq.FileMetaData, column: str, file_size: int) -> int:
    """What reading one column must fetch: its chunk in every row group, plus the footer."""
    index = metadata.schema.names.index(column)
    chunks = sum(
        metadata.row_group(g).column(index).total_compressed_size
        for g in range(metadata.num_row_groups)
    )
    return int(chunks + metadata.serialized_size + 8)


def test_a_column_read_fetches_only_its_bytes(fs: NatsObjFileSystem, bucket: str) -> None:
    """A 4-column, ~16 MiB parquet file (4 row groups): reading one column fetches about a
    quarter of the file. The bytes are counted where they arrive: the NATS connection."""
    rows = 500_000
    path = f"{bucket}/big.parquet"
    with fs.open(path, "wb") as f:
        pq.write_table(pa.Table.from_pandas(frame(rows)), f, row_group_size=rows // 4)
    size = fs.size(path)
    metadata = pq.read_metadata(path, filesystem=fs)
    assert metadata.num_row_groups == 4
    fs.close()  # a fresh connection: its counters start from the read alone
    fs.ls(bucket)
    manager = fs.manager
    assert manager is not None
    before = manager.nc.stats["in_bytes"]
    table = pq.read_table(path, filesystem=fs, columns=["c2"])
    fetched = manager.nc.stats["in_bytes"] - before
    assert table.num_rows == rows
    needed = needed_bytes(metadata, "c2", size)
    print(f"file {size} B, needed {needed} B, fetched {fetched} B ({fetched / needed:.3f}x)")
    assert needed < size / 3
    # Each range get (the footer, then one per row group) reads whole chunks (128 KiB: at
    # most one more at each end), the object's first and last chunks (which locate the
    # range's first chunk by arithmetic) and its meta.
    slack = (metadata.num_row_groups + 1) * (4 * 128 * 1024 + 4096)
    assert needed <= fetched < needed + slack


@pytest.mark.parametrize("cache_type", ["readahead", "none"])
def test_other_caches_still_read_correctly(
    fs: NatsObjFileSystem, bucket: str, cache_type: str
) -> None:
    fs.pipe_file(f"{bucket}/lines.txt", b"".join(b"line %d\n" % i for i in range(10_000)))
    with fs.open(f"{bucket}/lines.txt", cache_type=cache_type, block_size=4096) as f:
        lines = f.readlines()
    assert len(lines) == 10_000
    assert lines[-1] == b"line 9999\n"


def test_readme_doors_snippet_runs_as_written(nats_url: str) -> None:
    """The README's fsspec / natsobj.sync block, run as written (only the URL differs)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    found = re.search(r"```python\n(import natsobj\.sync.*?)```", readme, re.S)
    assert found is not None, "README lost its natsobj.sync / fsspec block"
    code = found[1].replace("nats://127.0.0.1:4222", nats_url)
    done = subprocess.run(
        [sys.executable, "-"], input=code, text=True, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["a", "0", "1", "1", "2"]
