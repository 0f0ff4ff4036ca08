"""Inline subscriptions (natsobj/_jetstream/_inline.py) deliver exactly what nats-py's own
subscriptions deliver: the same messages, subjects, replies, data and headers (status
lines of heartbeats and flow control included), in the same order."""

from __future__ import annotations

import json

import anyio
import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

import natsobj
from natsobj._jetstream._inline import forget_inline, subscribe_inline

pytestmark = pytest.mark.anyio


def _seen(msg: Msg) -> tuple[str, str, bytes, dict[str, str] | None]:
    return (msg.subject, msg.reply, msg.data, msg.headers)


class _Pair:
    """A native and an inline subscription to one subject, and what each received."""

    def __init__(self) -> None:
        self.native: list[Msg] = []
        self.inline: list[Msg] = []
        self.caught_up = anyio.Event()
        self.wanted = 0

    async def on_native(self, msg: Msg) -> None:
        self.native.append(msg)
        if self.wanted and len(self.native) >= self.wanted:
            self.caught_up.set()

    async def subscribe(self, nc: Client, subject: str) -> Subscription:
        await nc.subscribe(subject, cb=self.on_native)
        return await subscribe_inline(nc, subject, self.inline.append)

    async def same(self, wanted: int) -> None:
        """Wait until the native one has ``wanted``; both have seen the same up to it."""
        self.wanted = wanted
        if len(self.native) < wanted:
            with anyio.fail_after(10):
                await self.caught_up.wait()
        assert [_seen(m) for m in self.native[:wanted]] == [_seen(m) for m in self.inline[:wanted]]


async def test_inline_and_native_subscriptions_see_the_same(
    server: natsobj.EmbeddedServer,
) -> None:
    nc = await nats.connect(server.url)
    try:
        subject = nc.new_inbox()
        plain, pushed = _Pair(), _Pair()
        plain_sub = await plain.subscribe(nc, f"{subject}.msg.>")
        push_sub = await pushed.subscribe(nc, f"{subject}.push")
        repeated = {"Nats-Rollup": "sub", "X-Many": "a"}
        for index in range(50):
            headers = repeated if index % 3 else {"Nats-Sequence": str(index), "X": "é"}
            await nc.publish(f"{subject}.msg.{index}", b"data %d" % index, headers=headers)
            await nc.publish(f"{subject}.msg.plain", b"", reply="some.reply")
        await plain.same(100)
        # A push consumer with flow control and heartbeats.
        js = nc.jetstream()
        await js.add_stream(name="INLINE", subjects=["inline.>"], storage="memory")
        for index in range(20):
            await js.publish(f"inline.{index}", b"m" * 100)
        config = {
            "deliver_subject": f"{subject}.push",
            "ack_policy": "none",
            "flow_control": True,
            "idle_heartbeat": 100_000_000,
        }
        await nc.request(
            "$JS.API.CONSUMER.CREATE.INLINE",
            json.dumps({"stream_name": "INLINE", "config": config}).encode(),
        )
        await pushed.same(21)  # the messages, then a heartbeat once idle
        statuses = [(m.headers or {}).get("Status") for m in pushed.inline[:21]]
        assert statuses == [None] * 20 + ["100"]
        forget_inline(nc, plain_sub)
        forget_inline(nc, push_sub)
        count = len(plain.inline)
        await nc.publish(f"{subject}.msg.after", b"late")
        await plain.same(count + 1)
        assert len(plain.inline) == count  # the forgotten one got nothing more
    finally:
        await nc.close()


async def test_a_failing_handler_is_reported_and_reading_goes_on(
    server: natsobj.EmbeddedServer,
) -> None:
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    nc = await nats.connect(server.url, error_cb=on_error)
    try:
        got: list[bytes] = []

        def handler(msg: Msg) -> None:
            if msg.data == b"boom":
                raise RuntimeError("a bug in a handler")
            got.append(msg.data)

        subject = nc.new_inbox()
        await subscribe_inline(nc, subject, handler)
        for data in (b"one", b"boom", b"two"):
            await nc.publish(subject, data)
        with anyio.fail_after(5):
            while len(got) < 2:
                await nc.flush()
        assert got == [b"one", b"two"]
        assert [str(e) for e in errors] == ["a bug in a handler"]
    finally:
        await nc.close()
