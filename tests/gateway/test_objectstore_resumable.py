"""Resumable uploads through the gateway: ``objectstore-client``'s own (its put from the
threshold on), and the protocol by hand: wrong offsets, progress probes, a write cut off
midway keeping its whole segments, completion, cancel, and foreign sessions."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from urllib.parse import urlsplit

import anyio
import pytest
from objectstore_client import TimeToLive
from objectstore_client import Usecase as ClientUsecase

import natsobj
from natsobj import Usecase
from natsobj.gateway import _objectstore_resumable

from .test_objectstore_client import call, client, gateway, raw, token, usecase_name

pytestmark = pytest.mark.anyio
__all__ = ["gateway", "usecase_name"]  # fixtures, used by name
SEGMENT = 64 * 1024


@pytest.fixture(autouse=True)
def small_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_objectstore_resumable, "SEGMENT_BYTES", SEGMENT)


async def test_client_uploads_resumably_and_reads_back(
    gateway: str, usecase_name: str, manager: natsobj.ObjectStoreManager
) -> None:
    data = os.urandom(3 * SEGMENT + 123)
    for compression in ("none", "zstd"):
        usecase = ClientUsecase(usecase_name, compression=compression)
        session = client(gateway).session(usecase, org=9)
        key = await call(
            session.put,
            data,
            key=f"big-{compression}",
            resumable_threshold_bytes=SEGMENT,
            metadata={"kind": "resumable"},
            expiration_policy=TimeToLive(timedelta(hours=1)),
        )
        library = Usecase(usecase_name).for_organization(9).session(manager)
        assert await library.get_bytes(key) == data
        meta = await library.head(key)
        assert meta.custom == {"kind": "resumable"}
        assert meta.compression == compression
        assert meta.expiration_policy == natsobj.ExpirationPolicy.time_to_live(3600)
        store = (await library.bucket()).store
        leftovers = [i.name for i in await store.list(prefix="resumable/")]
        # It went the resumable way (the client falls back to a plain PUT silently): the
        # manifest is kept, marked complete, and the segments are gone.
        assert len(leftovers) == (1 if compression == "none" else 2)
        assert all(name.endswith("/upload") for name in leftovers)


def cut_off_write(url: str, headers: dict[str, str], declared: int, sent: bytes) -> None:
    """A write that declares ``declared`` bytes, sends ``sent`` and hangs up."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        lines = [f"PUT {parts.path}?{parts.query} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines += [f"Content-Length: {declared}", "", ""]
        sock.sendall("\r\n".join(lines).encode() + sent)


async def test_the_protocol_by_hand(gateway: str, usecase_name: str) -> None:
    base = f"{gateway}/v1/objects/{usecase_name}/org=9"
    auth = {"x-os-auth": token(usecase_name, org="9")}
    data = os.urandom(3 * SEGMENT + 500)

    async def request(
        method: str, url: str, offset: str | None = None, body: bytes | None = None
    ) -> tuple[int, str | None]:
        headers = auth if offset is None else {**auth, "Upload-Offset": offset}
        got = await call(raw, method, url, headers=headers, body=body)
        return got.status, got.headers.get("upload-offset")

    created = await call(
        raw, "PUT", f"{base}/r?upload_type=resumable", headers={**auth, "Upload-Length": "bad"}
    )
    assert created.status == 400
    created = await call(
        raw,
        "PUT",
        f"{base}/r?upload_type=resumable",
        headers={**auth, "Upload-Length": str(len(data)), "Content-Type": "text/x-test"},
    )
    assert created.status == 200
    answer = created.json()
    assert answer["key"] == "r"
    assert answer["granularity"] == 0
    url = f"{base}/r?session={answer['session']}"

    assert await request("PUT", url, "*") == (204, "0")
    first = data[: SEGMENT + 100]
    assert await request("PUT", url, "0", first) == (204, str(len(first)))
    # A write at another offset: 409 and the offset held.
    assert await request("PUT", url, "5", b"x") == (409, str(len(first)))
    # Past the declared length: 400.
    too_long = data[len(first) :] + b"extra"
    assert (await request("PUT", url, str(len(first)), too_long))[0] == 400

    # Cut off after one more whole segment and a bit: the whole segment stays.
    rest = data[len(first) :]
    write_headers = {**auth, "Upload-Offset": str(len(first))}
    await anyio.to_thread.run_sync(
        cut_off_write, url, write_headers, len(rest), rest[: SEGMENT + 10]
    )
    held = str(len(first) + SEGMENT)
    for _ in range(250):  # the server notices the hang-up: up to 5 s
        if (await request("PUT", url, "*"))[1] == held:
            break
        await anyio.sleep(0.02)
    assert (await request("PUT", url, "*"))[1] == held

    # The rest completes it: 201, and a later probe still says complete.
    tail = data[int(held) :]
    assert (await request("PUT", url, held, tail))[0] == 201
    assert (await request("PUT", url, "*"))[0] == 201
    got = await call(raw, "GET", f"{base}/r", headers=auth)
    assert got.data == data
    assert got.headers["content-type"] == "text/x-test"

    # Foreign and unknown sessions: 404; a read-only token may not write; cancel.
    other = await call(
        raw, "POST", f"{base}?upload_type=resumable", headers={**auth, "Upload-Length": "10"}
    )
    assert other.status == 201
    session = other.json()["session"]
    assert (await request("PUT", f"{base}/r?session={session}", "*"))[0] == 404
    assert (await request("PUT", f"{base}/r?session=nope", "*"))[0] == 404
    mine = f"{base}/{other.json()['key']}?session={session}"
    read_only = token(usecase_name, permissions=["object.read"], org="9")
    refused = await call(
        raw, "PUT", mine, headers={"x-os-auth": read_only, "Upload-Offset": "0"}, body=b"0123"
    )
    assert refused.status == 403
    assert await request("PUT", mine, "0", b"0123") == (204, "4")
    assert (await request("DELETE", mine))[0] == 204
    assert (await request("PUT", mine, "*"))[0] == 404
    assert (await request("DELETE", mine))[0] == 404
