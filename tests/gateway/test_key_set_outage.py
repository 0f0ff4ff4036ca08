"""The shared Objectstore key set fails closed: while a gateway is cut off from NATS its
keyed requests get 503, and a key revoked meanwhile is never accepted again, whether the
gateway got back before the revocation (its watch sees it) or after (it loads the key
set afresh)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import anyio
import httpx
import pytest

import natsobj
from natsobj.gateway import add_objectstore_key, create_app, revoke_objectstore_key

from .conftest import serving
from .objectstore_fixtures import signing_key, unique_usecase
from .test_live_config import os_token, pem, status

pytestmark = pytest.mark.anyio
RECONNECT_WAIT = 1.5  # the gateway's wait between reconnect attempts


async def _until(check: Callable[[], Awaitable[bool]], seconds: float) -> None:
    """Poll ``check`` every 50 ms until it is true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"{check.__name__} did not hold in {seconds} s"
        await anyio.sleep(0.05)


async def test_a_key_revoked_while_the_gateway_is_cut_off_is_refused_once_it_is_back() -> None:
    bucket = f"keys{uuid.uuid4().hex[:8]}"
    usecase = unique_usecase()
    path = f"/v1/objects/{usecase}/_/k"
    revoked, kept = signing_key("revoked"), signing_key("kept")
    async with natsobj.EmbeddedServer() as server:
        async with natsobj.connect(server.url) as admin:
            for key in (revoked, kept):
                await add_objectstore_key(admin, key.kid, pem(key), bucket=bucket)
        app = create_app(
            server.url,
            objectstore_key_set=bucket,
            max_reconnect_attempts=-1,
            reconnect_time_wait=RECONNECT_WAIT,
        )
        async with serving(app) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
            old, other = os_token(revoked, usecase), os_token(kept, usecase)
            assert await status(http, "GET", path, old) == 404  # authorized; no object yet

            await server.stop()

            async def unavailable() -> bool:
                # A request that came before the gateway noticed waits for NATS.
                try:
                    return await status(http, "GET", path, other, timeout=0.5) == 503
                except httpx.TimeoutException:
                    return False

            await _until(unavailable, 5)
            await server.start()  # same port and store; the gateway is not back yet
            async with natsobj.connect(server.url) as admin:
                assert await revoke_objectstore_key(admin, revoked.kid, bucket=bucket)
            # From the revocation on, the old key gets 503 (stale) or 401, never in.
            answers: set[int] = set()
            deadline = time.monotonic() + RECONNECT_WAIT + 5
            while 401 not in answers:
                assert time.monotonic() < deadline, f"still not refused: {answers}"
                answers.add(await status(http, "GET", path, old))
                await anyio.sleep(0.05)
            assert answers <= {401, 503}

            async def kept_works() -> bool:
                return await status(http, "GET", path, other) == 404

            await _until(kept_works, 5)
            assert await status(http, "GET", path, old) == 401
