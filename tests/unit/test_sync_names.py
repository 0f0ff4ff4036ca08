"""natsobj.sync covers the whole async API: every public method and property of each async
class has its blocking twin of the same name (``aclose`` is ``close``, ``async with`` and
``async for`` are ``with`` and ``for``), and every public natsobj name is there."""

from __future__ import annotations

import inspect

import pytest

import natsobj
import natsobj.sync
from natsobj._bucket._watch import ObjectWatcher
from natsobj._store import ReadResult

PAIRS: list[tuple[type, type]] = [
    (natsobj.ObjectStoreManager, natsobj.sync.ObjectStoreManager),
    (natsobj.ObjectStore, natsobj.sync.ObjectStore),
    (ReadResult, natsobj.sync.ReadResult),
    (natsobj.ObjectResult, natsobj.sync.ObjectResult),
    (ObjectWatcher, natsobj.sync.ObjectWatcher),
    (natsobj.Usecase, natsobj.sync.Usecase),
    (natsobj.Scope, natsobj.sync.Scope),
    (natsobj.Session, natsobj.sync.Session),
    (natsobj.Many, natsobj.sync.Many),
    (natsobj.OperationResults, natsobj.sync.OperationResults),
    (natsobj.GetResponse, natsobj.sync.GetResponse),
    (natsobj.SessionWatcher, natsobj.sync.SessionWatcher),
    (natsobj.ListingIndex, natsobj.sync.ListingIndex),
    (natsobj.ChangeFeed, natsobj.sync.ChangeFeed),
    (natsobj.FeedEvent, natsobj.sync.FeedEvent),
    (natsobj.SessionFeed, natsobj.sync.SessionFeed),
    (natsobj.SessionChange, natsobj.sync.SessionChange),
    (natsobj.EmbeddedServer, natsobj.sync.EmbeddedServer),
]

# Async protocol names and their sync spellings.
SYNC_NAME = {
    "aclose": "close",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "__asynccontextmanager__": "__enter__",
}
# The async byte-stream machinery the sync reader does not offer (it has read/iteration).
NOT_SYNC = {"send_eof", "extra", "extra_attributes"}
# The manager's nats-py connection and JetStream client belong to the loop's thread.
LOOP_BOUND = {"nc", "js"}


def _public(cls: type) -> set[str]:
    names = set()
    for name, _ in inspect.getmembers(cls):
        wanted = not name.startswith("_") and name not in NOT_SYNC
        if wanted or name in SYNC_NAME or name in SYNC_NAME.values():
            names.add(SYNC_NAME.get(name, name))
    return names


def _instance_attributes(cls: type) -> set[str]:
    """Public attributes set in ``__init__`` (``self.x = ...``) or declared on a dataclass."""
    fields = getattr(cls, "__dataclass_fields__", {})
    try:
        source = inspect.getsource(vars(cls)["__init__"]) if "__init__" in vars(cls) else ""
    except OSError:  # a dataclass's generated __init__
        source = ""
    assigned = {line.split("self.", 1)[1].split("=")[0].strip() for line in source.splitlines()
                if line.strip().startswith("self.") and "=" in line}  # fmt: skip
    return {n for n in set(fields) | assigned if n.isidentifier() and not n.startswith("_")}


@pytest.mark.parametrize(("async_cls", "sync_cls"), PAIRS, ids=lambda c: c.__name__)
def test_every_public_method_has_a_blocking_twin(async_cls: type, sync_cls: type) -> None:
    missing = _public(async_cls) - _public(sync_cls)
    # Instance attributes of the sync class count (``store.bucket``).
    missing -= _instance_attributes(sync_cls)
    assert not missing, f"natsobj.sync.{sync_cls.__name__} lacks {sorted(missing)}"


@pytest.mark.parametrize(("async_cls", "sync_cls"), PAIRS, ids=lambda c: c.__name__)
def test_every_public_attribute_has_a_twin(async_cls: type, sync_cls: type) -> None:
    missing = _instance_attributes(async_cls) - _public(sync_cls) - _instance_attributes(sync_cls)
    missing -= LOOP_BOUND
    assert not missing, f"natsobj.sync.{sync_cls.__name__} lacks {sorted(missing)}"


def test_every_public_name_is_in_the_sync_module() -> None:
    # Test rigs, not for scripts.
    left_out = {"EmbeddedCluster", "EmbeddedLeafTopology", "EmbeddedSupercluster", "__version__"}
    missing = set(natsobj.__all__) - set(natsobj.sync.__all__) - left_out
    assert not missing
    assert natsobj.sync.__all__ == sorted(natsobj.sync.__all__)
    for name in natsobj.sync.__all__:
        assert hasattr(natsobj.sync, name), name


def test_blocking_methods_keep_the_async_docstrings() -> None:
    assert natsobj.sync.ObjectStore.get_info.__doc__ == natsobj.ObjectStore.get_info.__doc__
    assert natsobj.sync.ObjectStore.get_info.__name__ == "get_info"
