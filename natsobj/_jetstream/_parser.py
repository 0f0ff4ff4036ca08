"""nats-py's protocol parser, reading message lines without its regular expressions.

nats-py tries ``MSG_RE`` and then ``HMSG_RE`` on every message's control line: with the
awaited call per message that follows, the parser was a sixth of the client's CPU when a
listing reads 100,000 metas. ``FastParser`` reads a well-formed ``MSG``/``HMSG`` line
with ``split`` and hands a message for an inline subscription's plain handler straight to
it (``_inline``), without the awaited call. Any line it does not take as well-formed
(every other operation, anything odd) goes to nats-py's own ``parse``, which decides as
it always does; so do payloads while nats-py's loop runs. It takes exactly the lines
those expressions take, with the same fields: ``tests/unit/test_fast_parser.py`` feeds
both the same generated streams, cut anywhere, and compares every call they make.
"""

from __future__ import annotations

from collections.abc import Callable

from nats.protocol.parser import (
    AWAITING_CONTROL_LINE,
    AWAITING_MSG_PAYLOAD,
    CRLF_SIZE,
    Parser,
)

__all__ = ["FastParser", "PlainDelivery", "install"]

# Hands a message to an inline subscription's plain handler; False when the subscription
# has none (or the message is a status message): nats-py's route takes it then.
PlainDelivery = Callable[[int, bytes, bytes, bytes, bytes | None], bool]

_CRLF = b"\r\n"


def _line_fields(line: bytearray, with_headers: bool) -> tuple[bytes, int, bytes, int, int] | None:
    """(subject, sid, reply, header size, total size) of a MSG/HMSG line's arguments, or
    None unless nats-py's expression would take it the same way."""
    # What the expressions refuse or read differently: a CR or LF inside the line, or
    # anything but a digit at its end (no trailing blanks).
    if b"\n" in line or b"\r" in line or not line[-1:].isdigit():
        return None
    fields = line.split()
    count = len(fields) - with_headers
    if count == 3:
        subject, sid, *sizes = fields
        reply = b""
    elif count == 4:
        subject, sid, reply_field, *sizes = fields
        reply = bytes(reply_field)
    else:
        return None
    if not (sid.isdigit() and all(size.isdigit() for size in sizes)):
        return None
    total = int(sizes[-1])
    return bytes(subject), int(sid), reply, int(sizes[0]) if with_headers else 0, total


class FastParser(Parser):
    """nats-py's ``Parser`` with message lines read by ``_line_fields`` (see the module).

    Put in place of a connection's parser by changing its class (``install``), so the
    state it holds (a partly read message) carries over.
    """

    deliver_plain: PlainDelivery | None = None

    async def parse(self, data: bytes = b"") -> None:
        buf = self.buf
        buf.extend(data)
        while buf:
            if self.state == AWAITING_CONTROL_LINE:
                if buf.startswith(b"HMSG "):
                    start, with_headers = 5, True
                elif buf.startswith(b"MSG "):
                    start, with_headers = 4, False
                else:
                    await super().parse()
                    return
                end = buf.find(_CRLF)
                if end < 0:
                    return  # the rest of the line has not come yet
                found = _line_fields(buf[start:end], with_headers)
                if found is None:
                    await super().parse()
                    return
                subject, sid, reply, self.header_needed, self.needed = found
                self.msg_arg["subject"], self.msg_arg["sid"] = subject, sid
                self.msg_arg["reply"] = reply
                del buf[: end + CRLF_SIZE]
                self.state = AWAITING_MSG_PAYLOAD
                continue
            needed = self.needed
            if len(buf) < needed + CRLF_SIZE:
                return
            header_size, self.header_needed = self.header_needed, 0
            headers = bytes(buf[:header_size]) if header_size > 0 else None
            payload = bytes(buf[header_size:needed])
            del buf[: needed + CRLF_SIZE]
            self.state = AWAITING_CONTROL_LINE
            args = self.msg_arg
            sid, subject, reply = args["sid"], args["subject"], args["reply"]
            deliver = self.deliver_plain
            if deliver is not None:
                try:
                    if deliver(sid, subject, reply, payload, headers):
                        continue
                except Exception as exc:  # a bug in a handler must not stop the read loop
                    await self.nc._error_cb(exc)
                    continue
            await self.nc._process_msg(sid, subject, reply, payload, headers)


def install(parser: Parser, deliver_plain: PlainDelivery) -> None:
    """Make ``parser`` (a connection's, exactly nats-py's class) a ``FastParser`` that
    hands plain messages to ``deliver_plain``."""
    if type(parser) is Parser:
        parser.__class__ = FastParser
        parser.deliver_plain = deliver_plain  # type: ignore[attr-defined]
