"""The public names: DESIGN.md's contract, a sorted ``__all__``, tidy ``__module__``s."""

from __future__ import annotations

import importlib.metadata
import inspect

import pytest

import natsobj
import natsobj._errors
import natsobj._expiration
import natsobj._models
import natsobj._permissions
import natsobj._sessions
import natsobj._sessions._compression
import natsobj._sessions._many
import natsobj._sessions._ops
import natsobj._sessions._scope
import natsobj._sessions._session
import natsobj._sessions._watch
import natsobj.server

CONTRACT_NAMES = [
    "EmbeddedServer",
    "connect",
    "ObjectStoreManager",
    "ObjectStoreConfig",
    "ObjectMeta",
    "ObjectMetaOptions",
    "ObjectLink",
    "ObjectInfo",
    "ObjectStoreStatus",
]

CONTRACT_ERRORS = [
    "ObjectStoreError",
    "BucketNotFoundError",
    "ObjectNotFoundError",
    "DigestMismatchError",
    "BadObjectMetaError",
    "InvalidBucketNameError",
    "InvalidObjectNameError",
    "BucketSealedError",
    "ObjectExistsError",
    "NoLinkToDeletedError",
    "NoLinkToLinkError",
    "UpdateMetaDeletedError",
]

OBJECT_INFO_FIELDS = [
    "name",
    "description",
    "headers",
    "metadata",
    "options",
    "bucket",
    "nuid",
    "size",
    "mtime",
    "chunks",
    "digest",
    "deleted",
]

STATUS_FIELDS = [
    "bucket",
    "description",
    "ttl",
    "storage",
    "replicas",
    "sealed",
    "size",
    "backing_store",
    "metadata",
    "compressed",
    "public",
    "file_size_limit",
    "allowed_mime_types",
]


def test_all_is_sorted_and_unique() -> None:
    assert natsobj.__all__ == sorted(natsobj.__all__)
    assert len(set(natsobj.__all__)) == len(natsobj.__all__)


@pytest.mark.parametrize("name", natsobj.__all__)
def test_every_exported_name_exists(name: str) -> None:
    assert hasattr(natsobj, name)


@pytest.mark.parametrize("name", natsobj.__all__)
def test_exported_objects_live_in_public_modules(name: str) -> None:
    obj = getattr(natsobj, name)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        assert obj.__module__ in ("natsobj", "natsobj.server"), obj.__module__


def test_server_classes_keep_their_module() -> None:
    assert natsobj.EmbeddedServer.__module__ == "natsobj.server"
    assert natsobj.EmbeddedServer is natsobj.server.EmbeddedServer


def test_server_module_all_is_sorted_and_exists() -> None:
    assert natsobj.server.__all__ == sorted(natsobj.server.__all__)
    for name in natsobj.server.__all__:
        assert hasattr(natsobj.server, name)


@pytest.mark.parametrize("name", CONTRACT_NAMES + CONTRACT_ERRORS)
def test_design_contract_names_are_exported(name: str) -> None:
    assert name in natsobj.__all__
    assert getattr(natsobj, name) is not None


def test_private_modules_names_are_reexported() -> None:
    assert set(natsobj._errors.__all__) <= set(natsobj.__all__)
    assert set(natsobj._models.__all__) <= set(natsobj.__all__)
    assert set(natsobj._permissions.__all__) <= set(natsobj.__all__)
    assert {"OrphanChunks", "SweepReport"} <= set(natsobj.__all__)
    modules = (
        natsobj._expiration,
        natsobj._sessions,
        natsobj._sessions._compression,
        natsobj._sessions._many,
        natsobj._sessions._ops,
        natsobj._sessions._scope,
        natsobj._sessions._session,
        natsobj._sessions._watch,
    )
    for module in modules:
        assert set(module.__all__) <= set(natsobj.__all__), module.__name__


def test_usecase_names_are_exported() -> None:
    names = ("Usecase", "Scope", "Session", "ExpirationPolicy", "GetResponse", "Many")
    for name in (*names, "SessionEvent", "SessionWatcher"):
        assert inspect.isclass(getattr(natsobj, name)), name
    assert issubclass(natsobj.InvalidScopeError, natsobj.InvalidArgumentError)
    assert {"BucketPolicy", "DeleteResult", "ObjectPage"} <= set(natsobj.__all__)


def test_connect_is_callable() -> None:
    assert callable(natsobj.connect)
    assert inspect.isclass(natsobj.ObjectStoreManager)
    assert inspect.isclass(natsobj.EmbeddedServer)


def test_object_info_fields() -> None:
    fields = natsobj.ObjectInfo.model_fields
    for field in OBJECT_INFO_FIELDS:
        assert field in fields, field
    assert isinstance(inspect.getattr_static(natsobj.ObjectInfo, "is_link"), property)


def test_object_meta_and_link_fields() -> None:
    assert {"name", "description", "headers", "metadata", "options"} <= set(
        natsobj.ObjectMeta.model_fields
    )
    assert {"link", "max_chunk_size"} <= set(natsobj.ObjectMetaOptions.model_fields)
    assert {"bucket", "name"} <= set(natsobj.ObjectLink.model_fields)


def test_object_store_status_fields() -> None:
    fields = natsobj.ObjectStoreStatus.model_fields
    for field in STATUS_FIELDS:
        assert field in fields, field


@pytest.mark.parametrize("name", CONTRACT_ERRORS)
def test_contract_errors_share_one_root(name: str) -> None:
    cls = getattr(natsobj, name)
    assert inspect.isclass(cls)
    assert issubclass(cls, natsobj.ObjectStoreError)
    assert issubclass(cls, Exception)


def test_object_not_found_is_a_file_not_found() -> None:
    assert issubclass(natsobj.ObjectNotFoundError, FileNotFoundError)


def test_every_exception_derives_from_the_root() -> None:
    for name in natsobj.__all__:
        obj = getattr(natsobj, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            assert issubclass(obj, natsobj.ObjectStoreError), name
    assert natsobj.server.ServerStartupError is natsobj.ServerStartupError


def test_version_matches_package_metadata() -> None:
    assert isinstance(natsobj.__version__, str)
    assert natsobj.__version__ == importlib.metadata.version("natsobj")
