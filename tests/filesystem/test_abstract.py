"""fsspec's own abstract test suite (``fsspec.tests.abstract``), run on natsobj://.

Directories are derived from object names, so empty directories do not exist
(``supports_empty_directories`` is False, as for s3fs).
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Callable, Iterator

import pytest
from fsspec.tests import abstract

from natsobj.fsspec import NatsObjFileSystem

from .conftest import make_fs


@pytest.fixture(scope="module")
def suite_fs(nats_url: str) -> Iterator[tuple[NatsObjFileSystem, str]]:
    filesystem = make_fs(nats_url)
    bucket = f"a{uuid.uuid4().hex[:12]}"
    filesystem.mkdir(bucket)
    yield filesystem, bucket
    filesystem.rm(bucket, recursive=True)
    filesystem.close()


class NatsObjFixtures(abstract.AbstractFixtures):  # type: ignore[misc]  # fsspec is untyped
    @pytest.fixture
    def fs(self, suite_fs: tuple[NatsObjFileSystem, str]) -> NatsObjFileSystem:
        return suite_fs[0]

    @pytest.fixture
    def fs_path(self, suite_fs: tuple[NatsObjFileSystem, str]) -> str:
        return f"{suite_fs[1]}/root"

    @pytest.fixture
    def fs_join(self) -> Callable[..., str]:
        return posixpath.join

    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        return False


class TestNatsObjCopy(abstract.AbstractCopyTests, NatsObjFixtures):  # type: ignore[misc]
    pass


class TestNatsObjGet(abstract.AbstractGetTests, NatsObjFixtures):  # type: ignore[misc]
    pass


class TestNatsObjPut(abstract.AbstractPutTests, NatsObjFixtures):  # type: ignore[misc]
    pass


class TestNatsObjPipe(abstract.AbstractPipeTests, NatsObjFixtures):  # type: ignore[misc]
    pass


class TestNatsObjOpen(abstract.AbstractOpenTests, NatsObjFixtures):  # type: ignore[misc]
    pass
