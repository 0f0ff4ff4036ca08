"""One name per operation: every public method of ObjectStore and ObjectStoreManager is a
canonical name or an alias whose docstring says what it aliases, how it differs and which
to prefer; the guide's table lists them all."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from natsobj import ObjectStore, ObjectStoreManager

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide.md"

CANONICAL = {
    ObjectStore: {
        "put", "put_file", "get", "get_bytes", "get_string", "get_file", "get_info",
        "update_meta", "move", "copy", "delete", "add_link", "add_bucket_link", "seal",
        "list", "list_page", "index", "watch", "status", "sweep_orphans", "empty", "delete_many",
        "delete_prefix", "changes", "feeds", "feed_info", "reset_feed", "delete_feed",
    },
    ObjectStoreManager: {
        "create_object_store", "create_object_store_mirror", "object_store", "object_store_names",
        "object_store_statuses", "update_object_store", "delete_object_store", "close",
    },
}  # fmt: skip
# alias -> the canonical name its docstring must point to
ALIASES = {
    ObjectStore: {"put_bytes": "put", "put_string": "put", "upload": "put", "update": "put"},
    ObjectStoreManager: {
        "get_bucket": "object_store",
        "update_bucket": "update_object_store",
        "delete_bucket": "delete_object_store",
        "empty_bucket": "empty",
    },
}
CLASSES = [ObjectStore, ObjectStoreManager]


def public_methods(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if name[0] != "_"}


@pytest.mark.parametrize("cls", CLASSES)
def test_every_public_method_is_canonical_or_an_alias(cls: type) -> None:
    assert public_methods(cls) == CANONICAL[cls] | ALIASES[cls].keys()


@pytest.mark.parametrize(
    ("cls", "alias", "canonical"),
    [(cls, alias, canonical) for cls in CLASSES for alias, canonical in ALIASES[cls].items()],
)
def test_an_alias_names_what_it_aliases_and_which_to_prefer(
    cls: type, alias: str, canonical: str
) -> None:
    doc = inspect.getdoc(getattr(cls, alias)) or ""
    assert f"``{canonical}``" in doc or f"{canonical}()" in doc, doc
    assert "prefer" in doc.lower(), doc


def test_move_and_update_meta_say_which_renames() -> None:
    assert "``move``" in (inspect.getdoc(ObjectStore.update_meta) or "")
    assert "``update_meta``" in (inspect.getdoc(ObjectStore.move) or "")


def test_the_guide_lists_every_name() -> None:
    section = GUIDE.read_text().split("## One name per operation", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`(?:manager\.)?([a-z_]+)`", section))
    for cls in CLASSES:
        assert public_methods(cls) <= listed, public_methods(cls) - listed
