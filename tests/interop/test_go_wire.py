"""natsobj and nats.go on the wire: the same operations leave the same messages.

Each peer runs the same script of operations on a bucket of its own; then every message left
in the two streams is read in order and compared byte for byte, with the bucket names and
NUIDs (random by design) replaced by placeholders. natsobj's two additions, both within what
ADR-20 leaves open, are the only differences:

* the compare-and-set message header on the metas it publishes
  (``Nats-Expected-Last-Subject-Sequence``), which the server checks and readers ignore;
* on an overwrite, the meta header ``Natsobj-Created`` (the replaced object's creation
  time), which every reader returns among the object's headers.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator

import nats
import pytest

import natsobj

from .peers import Meta, NatsobjPeer, Peer, ProcessPeer

pytestmark = [pytest.mark.anyio, pytest.mark.interop, pytest.mark.timeout(60)]

CAS_HEADER = "Nats-Expected-Last-Subject-Sequence"
CREATED = re.compile(rb'"headers":\{"Natsobj-Created":\["[0-9T:.Z-]+"\]\},')
NUID_FIELD = re.compile(rb'"nuid":"([0-9A-Za-z]{22})"')

Message = tuple[str, dict[str, str], bytes]


@pytest.fixture(scope="module")
async def raw_js(server_url: str) -> AsyncIterator[nats.js.JetStreamContext]:
    nc = await nats.connect(server_url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


async def script(peer: Peer, bucket: str, other: str) -> None:
    """Every kind of meta a client writes, and an overwrite, a delete and a rename."""
    await peer.create_bucket(bucket, description="wire")
    await peer.create_bucket(other)
    data = random.Random(5).randbytes(250_000)
    full = Meta(
        "full",
        description="d <&> é",
        headers={"Content-Type": ["text/plain"], "X-Multi": ["1", "2"]},
        metadata={"k": "v", "ü": "<>"},
    )
    await peer.put(bucket, full, data, chunk_size=100_000)
    await peer.put(bucket, Meta("empty"), b"")
    await peer.put(bucket, Meta("exact"), data[:200_000], chunk_size=100_000)
    await peer.put(bucket, Meta("café/日本"), b"x")
    await peer.put(bucket, Meta("over"), data)
    await peer.put(bucket, Meta("over"), b"short")
    await peer.put(other, Meta("far"), b"far")
    await peer.add_link(bucket, "lnk", other, "far")
    await peer.add_bucket_link(bucket, "blnk", other)
    await peer.put(bucket, Meta("gone", description="g"), data)
    await peer.delete(bucket, "gone")
    await peer.put(bucket, Meta("upd", description="a", headers={"H": ["0"]}), b"u")
    await peer.update_meta(bucket, "upd", Meta("upd", description="b", metadata={"m": "1"}))
    await peer.put(bucket, Meta("ren"), data, chunk_size=100_000)
    await peer.update_meta(bucket, "ren", Meta("renamed", description="r"))


async def messages(js: nats.js.JetStreamContext, bucket: str, other: str) -> list[Message]:
    """Every message left in the bucket's stream, in order, bucket names and NUIDs replaced."""
    stream = f"OBJ_{bucket}"
    last = (await js.stream_info(stream)).state.last_seq
    nuids: dict[bytes, bytes] = {}

    def placeholder(nuid: bytes) -> bytes:
        return nuids.setdefault(nuid, b"NUID%d" % len(nuids))

    out: list[Message] = []
    for seq in range(1, last + 1):
        try:
            msg = await js.get_msg(stream, seq)
        except nats.js.errors.NotFoundError:
            continue  # purged
        subject = (msg.subject or "").replace(f"$O.{bucket}.", "$O.B.")
        prefix, chunks, nuid = subject.partition(".C.")
        if chunks:
            subject = prefix + chunks + placeholder(nuid.encode()).decode()
        data = (msg.data or b"").replace(f'"bucket":"{bucket}"'.encode(), b'"bucket":"B"')
        data = data.replace(f'"bucket":"{other}"'.encode(), b'"bucket":"O"')
        data = NUID_FIELD.sub(lambda m: b'"nuid":"' + placeholder(m[1]) + b'"', data)
        out.append((subject, dict(msg.headers or {}), data))
    return out


def stream_config(info: nats.js.api.StreamInfo, bucket: str) -> dict[str, object]:
    """The stream's configuration as created, its bucket name replaced."""
    config = info.config.as_dict()
    config.pop("name")
    config["subjects"] = [s.replace(f".{bucket}.", ".B.") for s in info.config.subjects or []]
    return config


async def test_natsobj_writes_what_nats_go_writes(
    natsobj_peer: NatsobjPeer,
    go_peer: ProcessPeer,
    raw_js: nats.js.JetStreamContext,
    manager: natsobj.ObjectStoreManager,
    bucket: str,
    other_bucket: str,
) -> None:
    go_bucket, go_other = f"{bucket}g", f"{bucket}-y"
    try:
        await script(natsobj_peer, bucket, other_bucket)
        await script(go_peer, go_bucket, go_other)
        ours = await messages(raw_js, bucket, other_bucket)
        theirs = await messages(raw_js, go_bucket, go_other)
        assert stream_config(await raw_js.stream_info(f"OBJ_{bucket}"), bucket) == stream_config(
            await raw_js.stream_info(f"OBJ_{go_bucket}"), go_bucket
        )
    finally:
        for name in (go_bucket, go_other):
            await manager.delete_object_store(name)

    cas = [subject for subject, headers, _ in ours if headers.pop(CAS_HEADER, None)]
    assert cas
    assert all(".M." in subject for subject in cas)
    created = [subject for subject, _, data in ours if CREATED.search(data)]
    assert created == ["$O.B.M.b3Zlcg=="]  # "over"
    assert [(s, h, CREATED.sub(b"", d)) for s, h, d in ours] == theirs
