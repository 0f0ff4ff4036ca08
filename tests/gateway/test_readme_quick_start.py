"""The README's HTTP gateway quick starts run as written (the storage-js one on Node, the
objectstore-client one in Python) against the gateway as `natsobj serve` configures it
there: only the port differs."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import natsobj
from natsobj.gateway import create_app

from .conftest import Gateway, serving
from .storage_js import JS_DIR, need_storage_js

pytestmark = pytest.mark.anyio

README = Path(__file__).resolve().parents[2] / "README.md"
README_URL = "http://127.0.0.1:5000"
RUN_TIMEOUT = 30


def snippet(language: str, starts: str) -> str:
    found = re.search(rf"```{language}\n({re.escape(starts)}.*?)```", README.read_text(), re.S)
    assert found is not None, f"README has no {language} block starting {starts!r}"
    return found[1]


@pytest.fixture
async def gateway(
    server: natsobj.EmbeddedServer, tmp_path: Path, manager: natsobj.ObjectStoreManager
) -> AsyncIterator[Gateway]:
    """The README's `natsobj serve --service-key s3cret --objectstore-key k1=os.pub`, with
    ``os.pem`` in ``tmp_path``; the buckets the snippets make are deleted afterwards."""
    key = Ed25519PrivateKey.generate()
    (tmp_path / "os.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    before = set(await manager.object_store_names())
    app = create_app(server.url, service_key="s3cret", objectstore_keys={"k1": public})
    async with serving(app) as running:
        yield running
    for name in set(await manager.object_store_names()) - before:
        await manager.delete_object_store(name)


async def run(command: list[str], code: str, cwd: Path) -> str:
    with anyio.fail_after(RUN_TIMEOUT):
        done = await anyio.run_process(command, input=code.encode(), cwd=cwd, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode()


async def test_storage_js_quick_start(gateway: Gateway) -> None:
    need_storage_js()
    code = snippet("js", "import { StorageClient }").replace(README_URL, gateway.url)
    # ES module code on stdin resolves its imports from the working directory.
    out = await run(["node", "--input-type=module"], code, JS_DIR)
    assert out == "meow\n"


async def test_objectstore_client_quick_start(gateway: Gateway, tmp_path: Path) -> None:
    code = snippet("python", "from objectstore_client").replace(README_URL, gateway.url)
    out = await run([sys.executable, "-"], code, tmp_path)
    assert out == "b'hello'\n"
