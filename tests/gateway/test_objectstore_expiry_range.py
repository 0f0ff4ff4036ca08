"""``objectstore-client``'s ``extend_expiry`` and HTTP ``Range`` reads against the
gateway's ``/v1`` routes (uvicorn over a real nats-server), checked through the library."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import zstandard
from objectstore_client import (
    ExpiryExtensionRejected,
    ObjectNotFound,
    TimeToIdle,
    TimeToLive,
)
from objectstore_client import Usecase as ClientUsecase

import natsobj
from natsobj import Usecase

from .test_objectstore_client import call, client, gateway, raw, token, usecase_name

pytestmark = pytest.mark.anyio
__all__ = ["gateway", "usecase_name"]  # fixtures, used by name


async def test_extend_expiry_through_the_client(
    gateway: str, usecase_name: str, manager: natsobj.ObjectStoreManager
) -> None:
    session = client(gateway).session(ClientUsecase(usecase_name, compression="none"), org=3)
    library = Usecase(usecase_name).for_organization(3).session(manager)
    ttl = TimeToLive(timedelta(seconds=60))
    await call(session.put, b"ttl bytes", key="t", expiration_policy=ttl)
    before = await library.head("t")
    assert before.time_expires is not None
    assert before.time_created is not None

    await call(session.extend_expiry, "t", from_now=timedelta(hours=2))
    after = await library.head("t")
    assert after.time_expires is not None
    assert after.time_expires - datetime.now(UTC) > timedelta(hours=2) - timedelta(seconds=5)
    assert after.time_created == before.time_created
    assert await library.get_bytes("t") == b"ttl bytes"
    head = await call(session.head, "t")
    assert head is not None
    assert isinstance(head.expiration_policy, TimeToLive)
    assert head.expiration_policy.delta >= timedelta(hours=2)

    # Already sufficient: success, nothing moves.
    await call(session.extend_expiry, "t", from_creation=timedelta(seconds=10))
    assert (await library.head("t")).info.revision == after.info.revision

    await call(session.put, b"idle", key="i", expiration_policy=TimeToIdle(timedelta(minutes=1)))
    at = datetime.now(UTC) + timedelta(days=3)
    await call(session.extend_expiry, "i", at=at)
    idle = await library.head("i")
    assert idle.expiration_policy == natsobj.ExpirationPolicy.time_to_idle(60)
    assert idle.time_expires == at.replace(microsecond=0) + timedelta(seconds=1)

    await call(session.put, b"manual", key="m")
    with pytest.raises(ExpiryExtensionRejected) as rejected:
        await call(session.extend_expiry, "m", from_now=timedelta(hours=1))
    assert rejected.value.status == 409
    with pytest.raises(ObjectNotFound) as missing:
        await call(session.extend_expiry, "nothing", from_now=timedelta(hours=1))
    assert missing.value.status == 404

    # Bad bodies: 400; a read-only token: 403; nothing changed.
    url = f"{gateway}/v1/objects/{usecase_name}/org=3/t"
    auth = {"x-os-auth": token(usecase_name, org="3"), "Content-Type": "application/json"}
    for body in (
        b"not json",
        b"[]",
        b'{"extend_expiry": {}}',
        b'{"extend_expiry": {"at": "tomorrow"}}',
        b'{"extend_expiry": {"at": "2030-01-01T00:00:00"}}',
        b'{"extend_expiry": {"after": "1h", "from": "then"}}',
        b'{"extend_expiry": {"after": "soon", "from": "now"}}',
        b'{"extend_expiry": {"after": "1h", "from": "now", "at": "x"}}',
    ):
        response = await call(raw, "PATCH", url, body=body, headers=auth)
        assert response.status == 400, (body, response.data)
        assert json.loads(response.data)["detail"]
    big = b'{"extend_expiry": {"after": "' + b" " * (1024 * 1024) + b'1h", "from": "now"}}'
    assert (await call(raw, "PATCH", url, body=big, headers=auth)).status == 413
    read_only = {**auth, "x-os-auth": token(usecase_name, permissions=["object.read"], org="3")}
    ok_body = b'{"extend_expiry": {"after": "30d", "from": "now"}}'
    assert (await call(raw, "PATCH", url, body=ok_body, headers=read_only)).status == 403
    assert (await library.head("t")).info.revision == after.info.revision
    assert (await call(raw, "PATCH", url, body=ok_body, headers=auth)).status == 204


async def test_range_reads(gateway: str, usecase_name: str) -> None:
    session = client(gateway).session(ClientUsecase(usecase_name, compression="none"), org=4)
    payload = b"Hello, Range Requests!"  # Sentry's own test payload, 22 bytes
    await call(session.put, payload, key="r")
    url = f"{gateway}/v1/objects/{usecase_name}/org=4/r"
    auth = {"x-os-auth": token(usecase_name, org="4")}

    whole = await call(raw, "GET", url, headers=auth)
    assert whole.status == 200
    assert whole.headers["accept-ranges"] == "bytes"
    assert "content-range" not in whole.headers
    assert whole.data == payload
    head = await call(raw, "HEAD", url, headers=auth)
    assert head.headers["accept-ranges"] == "bytes"

    for spec, status, body, content_range in [
        ("bytes=0-4", 206, b"Hello", "bytes 0-4/22"),
        ("bytes=-9", 206, b"Requests!", "bytes 13-21/22"),
        ("bytes=7-", 206, b"Range Requests!", "bytes 7-21/22"),
        ("bytes=20-100", 206, b"s!", "bytes 20-21/22"),
        ("bytes=-100", 206, payload, "bytes 0-21/22"),
        ("bytes=0-4, 10-14", 200, payload, None),  # several ranges: the whole object
    ]:
        got = await call(raw, "GET", url, headers={**auth, "Range": spec})
        assert (got.status, got.data) == (status, body), spec
        assert got.headers.get("content-range") == content_range, spec
        assert int(got.headers["content-length"]) == len(body)
    for spec in ("items=0-10", "bytes=abc-def", "bytes=5-1", "bytes=-0", "bytes=-", "bytes"):
        bad = await call(raw, "GET", url, headers={**auth, "Range": spec})
        assert bad.status == 400, spec
    unsatisfiable = await call(raw, "GET", url, headers={**auth, "Range": "bytes=100-200"})
    assert unsatisfiable.status == 416
    assert unsatisfiable.headers["content-range"] == "bytes */22"
    assert unsatisfiable.headers["accept-ranges"] == "bytes"
    missing = await call(raw, "GET", url + "x", headers={**auth, "Range": "bytes=0-10"})
    assert missing.status == 404

    # A zstd object: the range counts stored (compressed) bytes, sent as stored; a client
    # that cannot take zstd gets the whole object decoded (the range ignored).
    zsession = client(gateway).session(ClientUsecase(usecase_name, compression="zstd"), org=4)
    data = bytes(range(256)) * 400
    await call(zsession.put, data, key="z")
    zurl = url[: -len("/r")] + "/z"
    stored = await call(raw, "GET", zurl, headers=auth, decode_content=False)
    assert stored.headers["content-encoding"] == "zstd"
    part = await call(
        raw, "GET", zurl, headers={**auth, "Range": "bytes=10-"}, decode_content=False
    )
    assert part.status == 206
    assert part.headers["content-encoding"] == "zstd"
    assert part.data == stored.data[10:]
    assert zstandard.ZstdDecompressor().decompressobj().decompress(stored.data) == data
    decoded = await call(
        raw, "GET", zurl, headers={**auth, "Range": "bytes=10-", "Accept-Encoding": "gzip"}
    )
    assert (decoded.status, decoded.data) == (200, data)
