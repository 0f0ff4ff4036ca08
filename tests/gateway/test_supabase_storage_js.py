"""@supabase/storage-js (Supabase's official JavaScript client, Node) against the gateway
and a real nats-server: every bucket and file call it has (``js/driver.mjs``), and what it
wrote read back byte-identical through natsobj and through nats.js.

The driver runs once per module and reports every call; each test below checks one part
of its report, so one broken call does not hide the others. Locally the module skips when
Node or ``tests/gateway/js/node_modules`` (``make test`` runs ``npm ci``) is missing; with
``CI`` set it fails instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest

import natsobj
from natsobj.gateway import create_app

from ..interop.peers import ProcessPeer, js_peer
from .conftest import SECRET, Gateway, serving, token
from .storage_js import JS_DIR, need_storage_js

BIG = os.urandom(600_000)  # several 128 KiB chunks
SMALL = b"hello from storage-js\n"
DRIVER_TIMEOUT = 60

pytestmark = pytest.mark.anyio


Report = dict[str, Any]


def _sha(data: bytes) -> dict[str, Any]:
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


async def _drive(plan: dict[str, Any], phase: str) -> Report:
    with anyio.fail_after(DRIVER_TIMEOUT):
        done = await anyio.run_process(
            ["node", str(JS_DIR / "driver.mjs")],
            input=json.dumps({**plan, "phase": phase}).encode(),
            cwd=JS_DIR,
            check=False,
        )
    if done.returncode != 0:
        pytest.fail(f"driver.mjs failed: {done.stderr.decode(errors='replace')[-3000:]}")
    result: Report = json.loads(done.stdout)
    return result


async def _read_back(
    manager: natsobj.ObjectStoreManager, peer: ProcessPeer, names: dict[str, list[str]]
) -> dict[str, Any]:
    """Each named object's bytes and meta through natsobj, and its bytes through nats.js."""
    found: dict[str, Any] = {}
    for bucket, keys in names.items():
        store = await manager.object_store(bucket)
        for key in keys:
            found[f"{bucket}/{key}"] = {
                "natsobj": await store.get_bytes(key),
                "nats.js": await peer.get(bucket, key),
                "info": await store.get_info(key),
            }
    return found


async def _run(
    gateway: Gateway,
    manager: natsobj.ObjectStoreManager,
    peer: ProcessPeer,
    buckets: dict[str, str],
) -> Report:
    with tempfile.TemporaryDirectory(prefix="natsobj-storage-js-") as workdir:
        (Path(workdir) / "big.bin").write_bytes(BIG)
        plan = {
            "url": gateway.storage_url.rstrip("/"),
            "dir": workdir,
            "buckets": buckets,
            "tokens": {
                "service": token("service_role"),
                "authenticated": token("authenticated", sub="js-user"),
                "anon": token("anon"),
            },
        }
        result = await _drive(plan, "main")
        result["readback"] = await _read_back(manager, peer, _read_back_names(buckets))
        moved = ["from-priv/big.bin", "from-priv/web.bin"]
        other = await _read_back(manager, peer, {buckets["other"]: moved})
        result["other_before"] = {
            key.split("/", 1)[1]: found["nats.js"]
            for key, found in other.items()
            if found["nats.js"] == found["natsobj"]
        }
        result.update(await _drive(plan, "end"))
    result["buckets"] = buckets
    try:
        result["other_after"] = await manager.get_bucket(buckets["other"])
    except natsobj.BucketNotFoundError:
        result["other_after"] = None
    return result


@pytest.fixture(scope="module")
async def report(server: natsobj.EmbeddedServer) -> Report:
    """Run the driver against a fresh gateway (stopped, with its buckets deleted, before
    the tests look at the report). The report also holds the objects as natsobj and
    nats.js read them (``readback``), the other bucket's objects before it was emptied
    (``other_before``, those both read alike) and that bucket after it was deleted
    (``other_after``)."""
    need_storage_js()
    tag = uuid.uuid4().hex[:8]
    buckets = {"priv": f"js{tag}", "pub": f"js{tag}-pub", "other": f"js{tag}-other"}
    app = create_app(server.url, jwt_secret=SECRET, service_key="fixed-service-key")
    async with natsobj.connect(server.url) as manager:
        try:
            async with js_peer(server.url) as peer, serving(app) as gateway:
                return await _run(gateway, manager, peer, buckets)
        finally:
            for name in buckets.values():
                with contextlib.suppress(natsobj.ObjectStoreError):
                    await manager.delete_object_store(name)


def _read_back_names(buckets: dict[str, str]) -> dict[str, list[str]]:
    """The objects storage-js wrote that must read back through natsobj and nats.js."""
    private = ["dir/big.bin", "dir/blob.txt", "dir/sub/array.bin", "notes.md"]
    private += ["signed/up.bin", "signed/form.txt", "copies/plain.bin", "moved/node.bin"]
    return {buckets["priv"]: private, buckets["pub"]: ["p/pic.png"]}


def ok(report: Report, step: str) -> Any:
    """The data of a step that must have succeeded."""
    outcome = report[step]
    assert "error" not in outcome, (step, outcome)
    assert "data" in outcome, (step, outcome)
    return outcome["data"]


def refused(report: Report, step: str, status: str, code: str, http: int = 400) -> None:
    """A step that must have failed with Supabase's ``statusCode`` and ``code``."""
    error = report[step].get("error")
    assert error is not None, (step, report[step])
    assert (error["status"], error["statusCode"], error.get("code")) == (http, status, code), step


async def test_buckets(report: Report) -> None:
    priv, pub, other = (report["buckets"][k] for k in ("priv", "pub", "other"))
    assert ok(report, "createBucket.priv") == {"name": priv}
    assert ok(report, "createBucket.pub") == {"name": pub}
    refused(report, "createBucket.again", "409", "BucketAlreadyExists")
    refused(report, "createBucket.byUser", "403", "AccessDenied", 403)
    refused(report, "createBucket.badName", "400", "InvalidBucketName")
    got = ok(report, "getBucket")
    assert (got["id"], got["public"], got["file_size_limit"]) == (priv, False, 5_000_000)
    assert got["allowed_mime_types"] == ["application/*", "text/*", "image/png"]
    assert ok(report, "getBucket.byUser")["public"] is True
    refused(report, "getBucket.missing", "404", "NoSuchBucket")
    assert {priv, pub, other} <= {b["id"] for b in ok(report, "listBuckets")}
    # search is a substring of the name, then sorted by name descending, then limit 2
    assert [b["id"] for b in ok(report, "listBuckets.options")] == [pub, other]
    refused(report, "listBuckets.byAnon", "403", "AccessDenied", 403)
    assert ok(report, "updateBucket") == {"message": "Successfully updated"}
    assert ok(report, "getBucket.updated")["file_size_limit"] == 4_000_000
    refused(report, "updateBucket.byUser", "403", "AccessDenied", 403)


async def test_emptied_and_deleted(report: Report) -> None:
    refused(report, "deleteBucket.notEmpty", "409", "ResourceNotEmpty")
    refused(report, "emptyBucket.byUser", "403", "AccessDenied", 403)
    assert ok(report, "emptyBucket") == {"message": "Successfully emptied"}
    assert ok(report, "list.emptied") == []
    assert ok(report, "deleteBucket") == {"message": "Successfully deleted"}
    refused(report, "deleteBucket.missing", "404", "NoSuchBucket")
    assert report["other_after"] is None


async def test_uploads(report: Report) -> None:
    priv = report["buckets"]["priv"]
    assert ok(report, "upload.buffer")["fullPath"] == f"{priv}/dir/big.bin"
    refused(report, "upload.taken", "409", "KeyAlreadyExists")
    for step in (
        "upload.upsert",
        "upload.blob",
        "upload.arrayBuffer",
        "upload.nodeStream",
        "upload.webStream",
        "upload.formData",
        "update",
        "update.missingIsCreated",
    ):
        assert ok(report, step)["id"], step
    refused(report, "upload.tooLarge", "413", "EntityTooLarge")
    refused(report, "upload.badMime", "415", "InvalidMimeType")
    refused(report, "upload.byAnon", "403", "AccessDenied", 403)
    refused(report, "upload.noBucket", "404", "NoSuchBucket")


async def test_uploaded_objects_read_back_through_natsobj_and_nats_js(report: Report) -> None:
    priv, pub = report["buckets"]["priv"], report["buckets"]["pub"]
    expected = {
        f"{priv}/dir/big.bin": (BIG, "application/x-big", "max-age=120", {"owner": "js", "n": "2"}),
        f"{priv}/dir/blob.txt": (b"updated\n", "text/plain", "max-age=3600", {}),
        f"{priv}/dir/sub/array.bin": (BIG[:1000], "application/octet-stream", "max-age=3600", {}),
        f"{priv}/notes.md": (SMALL, "text/markdown", "max-age=3600", {"from": "formdata"}),
        f"{priv}/signed/up.bin": (BIG, "application/octet-stream", "max-age=3600", {}),
        f"{priv}/signed/form.txt": (b"second\n", "text/plain", "max-age=3600", {}),
        f"{priv}/copies/plain.bin": (BIG, "application/x-copied", "max-age=5", {}),
        f"{priv}/moved/node.bin": (BIG, "application/octet-stream", "max-age=3600", {}),
        f"{pub}/p/pic.png": (BIG[:5000], "image/png", "max-age=3600", {}),
    }
    for key, (data, mime, cache, metadata) in expected.items():
        found = report["readback"][key]
        assert found["natsobj"] == data, key
        assert found["nats.js"] == data, key
        info: natsobj.ObjectInfo = found["info"]
        assert (info.content_type, info.headers["Cache-Control"], info.metadata) == (
            mime,
            [cache],
            metadata,
        ), key


async def test_reads(report: Report) -> None:
    info = ok(report, "info")
    assert (info["name"], info["size"], info["contentType"]) == (
        "dir/big.bin",
        len(BIG),
        "application/x-big",
    )
    assert (info["cacheControl"], info["metadata"]) == ("max-age=120", {"owner": "js", "n": "2"})
    refused(report, "info.missing", "404", "NoSuchKey")
    assert ok(report, "exists") is True
    assert report["exists.missing"]["data"] is False  # storage-js: false, with the error
    assert ok(report, "download") == {"blob": _sha(BIG), "type": "application/x-big"}
    assert ok(report, "download.stream") == {"stream": _sha(BIG)}
    assert ok(report, "download.cacheNonce")["blob"] == _sha(b"updated\n")
    refused(report, "download.missing", "404", "NoSuchKey")
    refused(report, "download.byAnonPrivate", "404", "NoSuchBucket")
    assert ok(report, "download.byAnonPublic")["blob"] == _sha(BIG[:5000])
    assert ok(report, "download.noTokenPublic")["blob"] == _sha(BIG[:5000])
    assert ok(report, "info.byAnonPublic")["size"] == 5000


async def test_public_urls_and_conditional_gets(report: Report) -> None:
    urls = ok(report, "getPublicUrl")
    assert urls["publicUrl"].endswith(f"/object/public/{report['buckets']['pub']}/p/pic.png")
    public = report["fetch.publicUrl"]
    assert (public["status"], public["body"]) == (200, _sha(BIG[:5000]))
    assert public["headers"]["content-disposition"] is None
    named = report["fetch.publicUrl.download"]
    assert named["headers"]["content-disposition"] == (
        "attachment; filename=save%20as.png; filename*=UTF-8''save%20as.png"
    )
    private = report["fetch.publicUrl.private"]
    assert (private["status"], private["json"]["statusCode"]) == (400, "404")
    assert report["fetch.ifModifiedSince"]["status"] == 304
    assert report["fetch.ifModifiedSince"]["body"]["size"] == 0
    assert report["fetch.ifModifiedSince.old"]["status"] == 200
    assert report["fetch.ifNoneMatch"]["status"] == 304
    ranged = report["fetch.range"]
    assert (ranged["status"], ranged["body"]) == (206, _sha(BIG[100:200]))
    assert ranged["headers"]["content-range"] == "bytes 100-199/5000"


async def test_signed_urls(report: Report) -> None:
    for step in ("createSignedUrl", "createSignedUrl.download", "createSignedUrl.downloadTrue"):
        assert "/object/sign/" in ok(report, step)["signedUrl"]
        fetched = report[f"fetch.{step}"]
        assert (fetched["status"], fetched["body"]) == (200, _sha(BIG)), step
    assert report["fetch.createSignedUrl"]["headers"]["content-disposition"] is None
    assert report["fetch.createSignedUrl.download"]["headers"]["content-disposition"] == (
        "attachment; filename=named.bin; filename*=UTF-8''named.bin"
    )
    assert (
        report["fetch.createSignedUrl.downloadTrue"]["headers"]["content-disposition"]
        == "attachment;"
    )
    # a name with a space and a non-ASCII letter: signed as it is, encoded once by the client
    assert ok(report, "upload.spaced")["path"] == "dir/my file é.txt"
    spaced = report["fetch.createSignedUrl.spaced"]
    assert (spaced["status"], spaced["body"]) == (200, _sha(SMALL))
    assert ok(report, "download.spaced")["blob"] == _sha(SMALL)
    assert _names(ok(report, "remove.spaced")) == ["dir/my file é.txt"]
    refused(report, "createSignedUrl.missing", "404", "NoSuchKey")
    refused(report, "createSignedUrl.byAnonPrivate", "404", "NoSuchBucket")
    batch = ok(report, "createSignedUrls")
    assert [(item["path"], item["error"] is None) for item in batch] == [
        ("dir/big.bin", True),
        ("dir/none.bin", False),
        ("dir/blob.txt", True),
    ]
    assert batch[1]["signedUrl"] is None
    assert report["fetch.createSignedUrls"]["body"] == _sha(b"updated\n")


async def test_signed_uploads(report: Report) -> None:
    assert ok(report, "createSignedUploadUrl")["token"]
    assert ok(report, "uploadToSignedUrl")["path"] == "signed/up.bin"
    refused(report, "uploadToSignedUrl.replay", "409", "KeyAlreadyExists")
    refused(report, "uploadToSignedUrl.otherPath", "400", "InvalidSignature")
    assert ok(report, "uploadToSignedUrl.blob")["path"] == "signed/form.txt"
    assert ok(report, "uploadToSignedUrl.upsertAgain")["path"] == "signed/form.txt"


def _names(rows: list[dict[str, Any]]) -> list[str]:
    return [row["name"] for row in rows]


async def test_lists(report: Report) -> None:
    # by name, folders and files together, as Supabase's search
    assert _names(ok(report, "list.root")) == ["dir", "notes.md", "signed", "stream"]
    listed = ok(report, "list.dir")
    assert _names(listed) == ["big.bin", "blob.txt", "new.txt", "sub"]
    assert listed[3]["id"] is None
    assert listed[0]["metadata"]["size"] == len(BIG)
    assert listed[0]["metadata"]["mimetype"] == "application/x-big"
    assert _names(ok(report, "list.limitOffset")) == ["blob.txt"]
    assert _names(ok(report, "list.sortDesc")) == ["sub", "new.txt", "blob.txt", "big.bin"]
    assert _names(ok(report, "list.sortCreated")) == ["node.bin", "web.bin"]
    # by another column: the folders first, then the files
    assert _names(ok(report, "list.sortUpdatedDesc")) == ["sub", "new.txt", "blob.txt", "big.bin"]
    assert _names(ok(report, "list.search")) == ["blob.txt"]
    refused(report, "list.byAnon", "403", "AccessDenied", 403)
    first = ok(report, "listV2.first")
    assert first["hasNext"]
    assert first["folders"] == [{"name": "dir/sub/", "key": "dir/sub/"}]
    rest = ok(report, "listV2.next")
    assert _names(first["objects"]) + _names(rest["objects"]) == [
        "dir/big.bin",
        "dir/blob.txt",
        "dir/new.txt",
    ]
    assert not rest["hasNext"]
    assert _names(ok(report, "listV2.flat")["objects"]) == [
        "dir/sub/array.bin",
        "dir/new.txt",
        "dir/blob.txt",
        "dir/big.bin",
    ]


async def test_move_copy_remove(report: Report) -> None:
    priv, other = report["buckets"]["priv"], report["buckets"]["other"]
    assert ok(report, "copy") == {"path": f"{priv}/copies/big.bin"}
    refused(report, "copy.taken", "409", "KeyAlreadyExists")
    assert ok(report, "copy.otherBucket") == {"path": f"{other}/from-priv/big.bin"}
    copied = ok(report, "info.copied")
    assert (copied["contentType"], copied["cacheControl"], copied["metadata"]) == (
        "application/x-copied",
        "max-age=5",
        {},
    )
    assert ok(report, "move") == {"message": "Successfully moved"}
    refused(report, "move.missing", "404", "NoSuchKey")
    assert ok(report, "move.otherBucket") == {"message": "Successfully moved"}
    refused(report, "move.taken", "409", "KeyAlreadyExists")
    removed = {row["name"]: row["metadata"] for row in ok(report, "remove")}
    assert sorted(removed) == ["copies/big.bin", "dir/new.txt"]  # as they were
    assert (removed["copies/big.bin"]["size"], removed["dir/new.txt"]["mimetype"]) == (
        len(BIG),
        "text/plain",
    )
    refused(report, "remove.byAnon", "403", "AccessDenied", 403)
    # what the other bucket held before it was emptied, through nats.js too
    assert report["other_before"] == {"from-priv/big.bin": BIG, "from-priv/web.bin": BIG}


async def test_cdn_and_routes_supabase_lacks(report: Report) -> None:
    assert ok(report, "purgeCache")["message"] == "success"
    assert ok(report, "purgeBucketCache")["message"] == "success"
    refused(report, "purgeCache.byUser", "403", "AccessDenied", 403)
    for step in ("getBucketLifecycle", "updateBucketLifecycle", "deleteBucketLifecycle"):
        refused(report, step, "404", "InvalidRequest", 404)
