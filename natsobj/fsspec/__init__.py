"""natsobj as an fsspec filesystem (extra ``[fsspec]``): ``natsobj://bucket/path``.

Registered under the ``fsspec.specs`` entry point, so ``fsspec.filesystem("natsobj")``,
``fsspec.open("natsobj://bucket/a.csv")``, pandas, pyarrow and dask find it by protocol::

    import pandas as pd
    df = pd.read_parquet("natsobj://bucket/table.parquet",
                         storage_options={"servers": "nats://127.0.0.1:4222"})

docs/fsspec.md says what it does and how it differs from a POSIX filesystem.
"""

from __future__ import annotations

from ._file import NatsObjFile
from ._filesystem import NatsObjFileSystem

__all__ = ["NatsObjFile", "NatsObjFileSystem"]
