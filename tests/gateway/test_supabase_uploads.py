"""Uploads through the Supabase gateway that go wrong: bad forms, a client that goes away
mid-body. Each leaves nothing visible and no chunks behind."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable

import anyio
import httpx
import pytest

import natsobj

from ..conftest import chunk_counts
from .conftest import Gateway, token

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": f"Bearer {token('service_role')}"}


@pytest.fixture
async def store(
    gateway: Gateway, manager: natsobj.ObjectStoreManager
) -> AsyncIterator[natsobj.ObjectStore]:
    name = f"u{uuid.uuid4().hex[:12]}"
    created = await manager.create_object_store(name)
    yield created
    with contextlib.suppress(natsobj.ObjectStoreError):
        await manager.delete_object_store(name)


def form(*parts: tuple[str, str | None, bytes]) -> tuple[bytes, str]:
    """A multipart body written by hand: (field name, file name or None, content)."""
    boundary = "b0undary"
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


async def post(gateway: Gateway, path: str, body: bytes, content_type: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.storage_url.rstrip("/")) as http:
        return await http.post(
            f"/object/{path}", content=body, headers={**AUTH, "Content-Type": content_type}
        )


async def test_form_fields_before_the_file_and_after_it(
    gateway: Gateway, store: natsobj.ObjectStore
) -> None:
    data = os.urandom(200_000)
    body, kind = form(
        ("cacheControl", None, b"120"),
        ("contentType", None, b"application/x-form"),
        ("metadata", None, b'{"a": "b"}'),
        ("", "blob.bin", data),  # storage-js names the file part ""
        ("late", None, b"ignored"),
    )
    response = await post(gateway, f"{store.bucket}/f.bin", body, kind)
    assert response.json()["Key"] == f"{store.bucket}/f.bin"
    info = await store.get_info("f.bin")
    assert (info.content_type, info.metadata) == ("application/x-form", {"a": "b"})
    assert info.headers["Cache-Control"] == ["max-age=120"]
    assert await store.get_bytes("f.bin") == data


@pytest.mark.parametrize(
    "parts",
    [
        [("cacheControl", None, b"1")],  # no file
        [("file", "a", b"one"), ("file", "b", b"two")],  # two files
        [("metadata", None, b"[not json"), ("file", "a", b"x")],
        [("metadata", None, b'{"n": 1}'), ("file", "a", b"x")],  # values must be strings
        [(f"f{i}", None, b"x") for i in range(11)] + [("file", "a", b"x")],  # > 10 fields
    ],
)
async def test_bad_forms_store_nothing(
    gateway: Gateway, store: natsobj.ObjectStore, parts: list[tuple[str, str | None, bytes]]
) -> None:
    body, kind = form(*parts)
    response = await post(gateway, f"{store.bucket}/f.bin", body, kind)
    assert (response.status_code, response.json()["statusCode"]) == (400, "400")
    assert await store.list() == []
    assert await chunk_counts(store) == {}


async def test_truncated_form_and_missing_boundary(
    gateway: Gateway, store: natsobj.ObjectStore
) -> None:
    body, kind = form(("file", "a", os.urandom(50_000)))
    cut = await post(gateway, f"{store.bucket}/f.bin", body[:-200], kind)
    assert cut.json()["statusCode"] == "400"
    no_boundary = await post(gateway, f"{store.bucket}/f.bin", body, "multipart/form-data")
    assert no_boundary.json()["statusCode"] == "400"
    assert await store.list() == []
    assert await chunk_counts(store) == {}


async def until(store: natsobj.ObjectStore, done: Callable[[dict[str, int]], bool]) -> None:
    """Poll the bucket's chunk counts (server state, no event to wait on) until ``done``."""
    with anyio.fail_after(10):
        while not done(await chunk_counts(store)):  # noqa: ASYNC110
            await anyio.sleep(0.02)


async def test_client_gone_mid_upload_leaves_nothing(
    gateway: Gateway, store: natsobj.ObjectStore
) -> None:
    host, port = gateway.url.removeprefix("http://").split(":")
    size = 4 << 20
    async with await anyio.connect_tcp(host, int(port)) as conn:
        await conn.send(
            f"POST /storage/v1/object/{store.bucket}/gone.bin HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: {AUTH['Authorization']}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {size}\r\n\r\n".encode()
        )
        await conn.send(os.urandom(size // 2))
        await until(store, lambda counts: bool(counts))  # the upload is under way
    await until(store, lambda counts: not counts)  # the failed put purged its chunks
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("gone.bin")
