"""Hostile bytes that another writer of a gateway's buckets may publish (the shared key
set, resumable-upload state, object meta): the gateway keeps serving, and keeps
following the key set, whatever they are."""

from __future__ import annotations

import base64
import contextlib
import logging
import uuid
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

import httpx
import pytest

import natsobj
from natsobj import ExpirationPolicy, Usecase
from natsobj._sessions._scope import TIME_CREATED
from natsobj.gateway import (
    _objectstore_resumable,
    add_objectstore_key,
    create_app,
    objectstore_keys,
    revoke_objectstore_key,
)

from .conftest import SECRET, serving, token
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


# A time that exists, whose deadline (rounded up, or in UTC) does not: year 10000.
FAR_TIMES = (
    datetime(9999, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1))),
)


async def test_extend_expiry_to_a_time_past_year_9999_is_a_bad_argument(
    server: natsobj.EmbeddedServer, manager: natsobj.ObjectStoreManager
) -> None:
    usecase = unique_usecase()
    session = Usecase(usecase).for_organization(1).session(manager)
    try:
        await session.put(b"x", key="k", expiration_policy=ExpirationPolicy.time_to_live(60))
        for at in FAR_TIMES:
            with pytest.raises(natsobj.InvalidArgumentError):
                await session.extend_expiry("k", at=at)
        async with (
            serving(create_app(server.url)) as gateway,
            httpx.AsyncClient(base_url=gateway.url) as http,
        ):
            for at in FAR_TIMES:
                body = {"extend_expiry": {"at": at.isoformat()}}
                answer = await http.patch(f"/v1/objects/{usecase}/org=1/k", json=body)
                assert answer.status_code == 400, answer.text
        # Another writer's meta says the object was created in year 9999.
        info = (await session.head("k")).info
        store = await manager.object_store(usecase)
        forged = {**info.headers, TIME_CREATED: ["9999-12-31T23:59:59Z"]}
        await store._core.commit(info.model_copy(update={"headers": forged}), expected=None)
        with pytest.raises(natsobj.InvalidArgumentError):
            await session.extend_expiry("k", from_creation=timedelta(days=2))
    finally:
        with contextlib.suppress(natsobj.ObjectStoreError):
            await manager.delete_object_store(usecase)


async def test_numbers_and_durations_out_of_range_are_bad_requests_not_500s(
    server: natsobj.EmbeddedServer, manager: natsobj.ObjectStoreManager
) -> None:
    usecase = unique_usecase()
    app = create_app(server.url, jwt_secret=SECRET)
    service = {"Authorization": f"Bearer {token('service_role')}"}
    try:
        async with serving(app) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
            # Supabase's list: digits that str.isdigit takes and int refuses, or too many.
            for value in ("²", "9" * 5000):
                answer = await http.get(
                    "/storage/v1/bucket", params={"limit": value}, headers=service
                )
                assert answer.status_code == 400, answer.text
            # Objectstore durations past what a timedelta holds.
            path = f"/v1/objects/{usecase}/_/k"
            answer = await http.put(
                path, content=b"x", headers={"x-sn-expiration": "ttl:999999999999weeks"}
            )
            assert answer.status_code == 400, answer.text
            assert (await http.put(path, content=b"x")).status_code == 200
            body = {"extend_expiry": {"after": "999999999999w", "from": "now"}}
            answer = await http.patch(path, json=body)
            assert answer.status_code == 400, answer.text
    finally:
        with contextlib.suppress(natsobj.ObjectStoreError):
            await manager.delete_object_store(usecase)


async def test_a_path_with_line_breaks_is_one_access_log_line(
    server: natsobj.EmbeddedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="natsobj.gateway.access")
    forged = '127.0.0.1:1 "GET /admin" 200 in=0 out=0'
    async with (
        serving(create_app(server.url)) as gateway,
        httpx.AsyncClient(base_url=gateway.url) as http,
    ):
        await http.get(f"/health%0A{quote(forged)}%0D%1b%22")
    [record] = [r for r in caplog.records if r.name == "natsobj.gateway.access"]
    line = record.getMessage()
    assert not any(c in line for c in "\n\r\x1b"), line
    assert '\\n127.0.0.1:1 \\"GET /admin\\"' in line  # escaped, still readable
    assert record.access["path"].startswith("/health\n")  # type: ignore[attr-defined]


async def test_supabase_download_of_an_object_whose_meta_headers_are_not_header_values(
    server: natsobj.EmbeddedServer, manager: natsobj.ObjectStoreManager
) -> None:
    """Another client stored headers no HTTP header may carry (line breaks, non-Latin-1):
    the download still answers, with safe values in their place."""
    bucket = f"h{uuid.uuid4().hex[:12]}"
    store = await manager.create_object_store(bucket)
    service = {"Authorization": f"Bearer {token('service_role')}"}
    headers = {"Cache-Control": ["max-age=1\r\nSet-Cookie: a=b"], "Content-Type": ["text/€"]}
    try:
        await store.put(natsobj.ObjectMeta(name="o", headers=headers), b"bytes")
        app = create_app(server.url, jwt_secret=SECRET)
        async with serving(app) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
            answer = await http.get(f"/storage/v1/object/authenticated/{bucket}/o", headers=service)
            assert answer.status_code == 200, answer.text
            assert answer.content == b"bytes"
            assert "set-cookie" not in answer.headers
            assert answer.headers["cache-control"] == "no-cache"
            assert answer.headers["content-type"] == "application/octet-stream"
    finally:
        with contextlib.suppress(natsobj.ObjectStoreError):
            await manager.delete_object_store(bucket)


async def test_a_pre_signed_url_timestamped_at_the_ends_of_time_is_401(
    server: natsobj.EmbeddedServer,
) -> None:
    key = signing_key("edge")
    usecase = unique_usecase()
    app = create_app(server.url, objectstore_keys={key.kid: pem(key)})
    async with serving(app) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
        for stamp in ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"):
            params = {"os_kid": key.kid, "os_timestamp": stamp, "os_duration": "60"}
            answer = await http.get(
                f"/v1/objects/{usecase}/_/k", params={**params, "os_sig": "AAAA"}
            )
            assert answer.status_code == 401, answer.text


async def test_a_resumable_upload_holds_a_bounded_number_of_segments(
    server: natsobj.EmbeddedServer,
    manager: natsobj.ObjectStoreManager,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each write of an upload is a segment (or more), and each write walks the segments
    held: tiny writes would cost quadratic work and bucket space without a bound."""
    monkeypatch.setattr(_objectstore_resumable, "SEGMENT_BYTES", 4)
    monkeypatch.setattr(_objectstore_resumable, "MAX_SEGMENTS", 2, raising=False)
    usecase = unique_usecase()
    base = f"/v1/objects/{usecase}/_/r"
    try:
        async with (
            serving(create_app(server.url)) as gateway,
            httpx.AsyncClient(base_url=gateway.url) as http,
        ):
            created = await http.put(
                f"{base}?upload_type=resumable", headers={"Upload-Length": "20"}
            )
            url = f"{base}?session={created.json()['session']}"

            async def write(offset: int, body: bytes) -> tuple[int, str | None]:
                got = await http.put(url, content=body, headers={"Upload-Offset": str(offset)})
                return got.status_code, got.headers.get("upload-offset")

            assert await write(0, b"0") == (204, "1")
            assert (await write(1, b"12345"))[0] == 400  # two more segments: one too many
            assert await write(1, b"1") == (204, "2")
            assert (await write(2, b"2"))[0] == 400  # a third segment
            progress = await http.put(url, headers={"Upload-Offset": "*"})
            assert progress.headers["upload-offset"] == "2"
    finally:
        with contextlib.suppress(natsobj.ObjectStoreError):
            await manager.delete_object_store(usecase)


async def test_a_broken_key_set_entry_can_be_replaced_and_revoked(
    manager: natsobj.ObjectStoreManager,
) -> None:
    """An entry that does not parse (another writer's) verifies nothing; adding a key to
    its kid replaces it, and revoking the kid deletes it."""
    bucket = f"keys{uuid.uuid4().hex[:8]}"
    key = signing_key("k")
    broken = natsobj.ObjectMeta(name="k", metadata={"key.x": "junk"})
    try:
        await add_objectstore_key(manager, "other", pem(signing_key("other")), bucket=bucket)
        store = await manager.object_store(bucket)
        await store.put(broken, b"")
        await add_objectstore_key(manager, "k", pem(key), bucket=bucket)
        found = await objectstore_keys(manager, bucket=bucket)
        assert [len(found["k"].versions), sorted(found)] == [1, ["k", "other"]]
        await store.put(broken, b"")
        assert not await revoke_objectstore_key(manager, "k", pem(key), bucket=bucket)
        assert await revoke_objectstore_key(manager, "k", bucket=bucket)
        assert sorted(await objectstore_keys(manager, bucket=bucket)) == ["other"]
    finally:
        with contextlib.suppress(natsobj.ObjectStoreError):
            await manager.delete_object_store(bucket)


async def test_rotating_a_restricted_kid_keeps_its_max_permissions(
    manager: natsobj.ObjectStoreManager,
) -> None:
    """A new version added without ``max_permissions`` must not widen a read-only kid
    to every permission (rotation is the common case; the omission the easy mistake)."""
    bucket = f"keys{uuid.uuid4().hex[:8]}"
    old, new = signing_key("ro"), signing_key("ro")
    try:
        read = ["object.read"]
        await add_objectstore_key(manager, "ro", pem(old), max_permissions=read, bucket=bucket)
        await add_objectstore_key(manager, "ro", pem(new), bucket=bucket)
        found = (await objectstore_keys(manager, bucket=bucket))["ro"]
        assert (len(found.versions), found.max_permissions) == (2, frozenset(read))
        await add_objectstore_key(manager, "fresh", pem(signing_key("fresh")), bucket=bucket)
        fresh = (await objectstore_keys(manager, bucket=bucket))["fresh"]
        assert len(fresh.max_permissions) == 3  # a new kid: all three
    finally:
        with contextlib.suppress(natsobj.ObjectStoreError):
            await manager.delete_object_store(bucket)
