"""Hostile bytes that another writer of a gateway's buckets may publish (the shared key
set, resumable-upload state, object meta): the gateway keeps serving, and keeps
following the key set, whatever they are."""

from __future__ import annotations

import base64
import contextlib
import uuid

import httpx
import pytest

import natsobj
from natsobj.gateway import add_objectstore_key, create_app, revoke_objectstore_key

from .conftest import serving
from .objectstore_fixtures import signing_key, unique_usecase
from .test_live_config import os_token, pem, status, within_bound

pytestmark = pytest.mark.anyio


def _spki_pem(der_hex: str) -> str:
    body = base64.encodebytes(bytes.fromhex(der_hex)).decode()
    return f"-----BEGIN PUBLIC KEY-----\n{body}-----END PUBLIC KEY-----\n"


# Well-formed SubjectPublicKeyInfo PEMs that cryptography refuses with UnsupportedAlgorithm
# (not ValueError): an unknown algorithm OID, and an EC key on a curve it does not know.
UNSUPPORTED_PEMS = (
    _spki_pem("300f300806062a030405060703030000ff"),
    _spki_pem("3020301006072a8648ce3d020106052b81040006030c0004aabbccddeeff00112233"),
)


async def test_key_set_entry_of_an_unsupported_algorithm_is_ignored_and_the_watch_goes_on(
    server: natsobj.EmbeddedServer, manager: natsobj.ObjectStoreManager
) -> None:
    bucket = f"keys{uuid.uuid4().hex[:8]}"
    usecase = unique_usecase()
    path = f"/v1/objects/{usecase}/_/k"
    good = signing_key("good")
    tok = os_token(good, usecase)
    try:
        for text in UNSUPPORTED_PEMS:  # the library's own calls: a typed error
            with pytest.raises(natsobj.InvalidArgumentError):
                await add_objectstore_key(manager, "evil", text, bucket=bucket)
        await add_objectstore_key(manager, "good", pem(good), bucket=bucket)
        app = create_app(server.url, objectstore_key_set=bucket)
        async with serving(app) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
            assert await status(http, "GET", path, tok) == 404  # the key verifies
            store = await manager.object_store(bucket)
            for n, text in enumerate(UNSUPPORTED_PEMS):  # another writer's entries
                meta = natsobj.ObjectMeta(name=f"evil{n}", metadata={"key.x": text})
                await store.put(meta, b"")
            # The watch must still follow the set: a revocation holds within 1 s.
            assert await revoke_objectstore_key(manager, "good", bucket=bucket)

            async def refused() -> bool:
                return await status(http, "GET", path, tok) == 401

            await within_bound(refused)
            assert not app.state.objectstore_keys.stale
    finally:
        with contextlib.suppress(natsobj.ObjectStoreError):
            await manager.delete_object_store(bucket)
