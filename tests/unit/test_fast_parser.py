"""natsobj's FastParser makes exactly the calls nats-py's Parser makes, on any stream of
protocol operations (well-formed or odd message lines among them), however it is cut
into reads; and it hands plain messages to the inline handler instead of awaiting."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nats.errors import ProtocolError
from nats.protocol.parser import Parser

from natsobj._jetstream._parser import FastParser, install

pytestmark = pytest.mark.anyio


class Recorder:
    """Stands in for nats-py's client: records what the parser calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def _process_msg(self, *args: Any) -> None:
        self.calls.append(("msg", *args))

    async def _process_err(self, text: str) -> None:
        self.calls.append(("err", text))

    async def _process_ping(self) -> None:
        self.calls.append(("ping",))

    async def _process_pong(self) -> None:
        self.calls.append(("pong",))

    async def _process_info(self, info: Any) -> None:
        self.calls.append(("info", info))

    async def _error_cb(self, exc: Exception) -> None:
        self.calls.append(("error", str(exc)))


TOKEN = st.binary(min_size=1, max_size=8).filter(
    lambda b: not any(c in b for c in b" \t\r\n\x0b\x0c")
)
BLANKS = st.sampled_from([b" ", b"  ", b"\t", b" \t "])


@st.composite
def message(draw: st.DrawFn) -> bytes:
    headers = draw(st.booleans())
    payload = draw(st.binary(max_size=40))
    block = b""
    if headers:
        block = b"NATS/1.0" + draw(st.sampled_from([b"", b" 100 Idle Heartbeat", b" 404"]))
        block += b"\r\n" + draw(st.sampled_from([b"", b"K: v\r\n", b"Status: 409\r\n"])) + b"\r\n"
    sep = draw(BLANKS)
    parts = [draw(TOKEN), str(draw(st.integers(1, 9))).encode()]
    if draw(st.booleans()):
        parts.append(draw(TOKEN))
    if headers:
        parts.append(str(len(block)).encode())
    parts.append(str(len(block) + len(payload)).encode())
    line = (b"HMSG " if headers else b"MSG ") + sep.join(parts)
    return line + b"\r\n" + block + payload + b"\r\n"


OTHER = st.sampled_from(
    [
        b"PING\r\n",
        b"PONG\r\n",
        b"+OK\r\n",
        b"-ERR 'Permissions Violation for Publish to x'\r\n",
        b"INFO " + json.dumps({"server_id": "x", "max_payload": 1048576}).encode() + b"\r\n",
    ]
)


def _cuts(stream: bytes, points: list[int]) -> list[bytes]:
    marks = sorted({p % (len(stream) + 1) for p in points} | {0, len(stream)})
    return [stream[a:b] for a, b in itertools.pairwise(marks)]


async def _run(parser_class: type[Parser], reads: list[bytes]) -> list[tuple[Any, ...]]:
    recorder = Recorder()
    parser = parser_class(recorder)
    try:
        for data in reads:
            await parser.parse(data)
    except ProtocolError as exc:
        recorder.calls.append(("protocol error", str(exc)))
    recorder.calls.append(("left", bytes(parser.buf), parser.state))
    return recorder.calls


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(message(), OTHER), min_size=1, max_size=12),
    st.lists(st.integers(0, 10_000), max_size=8),
)
async def test_the_same_calls_as_nats_py_on_well_formed_streams(
    ops: list[bytes], points: list[int]
) -> None:
    reads = _cuts(b"".join(ops), points)
    assert await _run(FastParser, reads) == await _run(Parser, reads)


ODD_LINES = [
    b"MSG s 1 5 \r\nhello\r\n",  # a blank before the CRLF
    b"MSG s 1 r\n5\r\nhello\r\n",  # a line feed inside the line
    b"MSG s 1 r 5\r\r\nhello\r\n",
    b"MSG s x 5\r\nhello\r\n",  # a sid that is no number
    b"MSG s 1 +5\r\nhello\r\n",
    b"MSG s 1 a b 5\r\nhello\r\n",  # too many fields
    b"MSG s 5\r\nhello\r\n",
    b"HMSG s 1 4\r\nNATS\r\n",
    b"HMSG s 1 r x 5\r\nhello\r\n",
    b"MSG\ts 1 5\r\nhello\r\n",  # a tab after the operation
    b"MSG s\t1\t5\r\nhello\r\n",
    b"MSG s 1 \xd9\xa5\r\nhello\r\n",  # a non-ASCII digit
]


@pytest.mark.parametrize("odd", ODD_LINES)
async def test_odd_lines_are_read_as_nats_py_reads_them(odd: bytes) -> None:
    stream = odd + b"PING\r\nMSG a 2 3\r\nabc\r\n"
    for cut in range(len(stream) + 1):
        reads = [stream[:cut], stream[cut:]]
        assert await _run(FastParser, reads) == await _run(Parser, reads)


async def test_plain_messages_go_to_the_handler_without_an_awaited_call() -> None:
    recorder = Recorder()
    parser = Parser(recorder)
    handed: list[tuple[Any, ...]] = []

    def deliver(sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes | None) -> bool:
        if sid != 7:
            return False
        if data == b"boom":
            raise RuntimeError("a bug in a handler")
        handed.append((sid, subject, reply, data, headers))
        return True

    install(parser, deliver)
    assert type(parser) is FastParser
    stream = b"MSG a 7 r 2\r\nhi\r\nMSG b 8 2\r\nno\r\nMSG c 7 4\r\nboom\r\n"
    stream += b"HMSG d 7 12 14\r\nNATS/1.0\r\n\r\nok\r\n"
    await parser.parse(stream)
    assert handed == [(7, b"a", b"r", b"hi", None), (7, b"d", b"", b"ok", b"NATS/1.0\r\n\r\n")]
    assert recorder.calls == [("msg", 8, b"b", b"", b"no", None), ("error", "a bug in a handler")]
