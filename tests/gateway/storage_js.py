"""Where the storage-js (Node) tests find Node and ``@supabase/storage-js``, and what they
do when either is missing: skip locally, fail with ``CI`` set (CI must run them)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ..interop.peers import js_peer_missing

JS_DIR = Path(__file__).resolve().parent / "js"
HINT = "run `make test` (npm ci in tests/gateway/js and tests/interop/js)"


def storage_js_missing() -> str | None:
    """Why storage-js (and the nats.js peer beside it) cannot run here, or None."""
    if shutil.which("node") is None:
        return "`node` is not on PATH"
    if not (JS_DIR / "node_modules" / "@supabase" / "storage-js" / "package.json").is_file():
        return f"{JS_DIR / 'node_modules'} has no @supabase/storage-js"
    return js_peer_missing()


def need_storage_js() -> None:
    """Skip the test when storage-js cannot run, or fail it when ``CI`` is set."""
    reason = storage_js_missing()
    if reason is None:
        return
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"storage-js cannot run and CI is set: {reason}; {HINT}", pytrace=False)
    pytest.skip(f"storage-js unavailable ({reason}): {HINT}")
