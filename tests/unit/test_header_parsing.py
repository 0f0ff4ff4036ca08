"""natsobj's header-block parser gives exactly what nats-py's own parser gives."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nats.aio.client import Client

from natsobj._jetstream import parse_header_lines, speed_up_header_parsing

EDGE_CASES = [
    b"",
    b"\r\n",
    b"Nats-Stream: OBJ_b\r\nNats-Subject: $O.b.M.YQ==\r\nNats-Sequence: 7\r\n\r\n",
    b"NoColon\r\nName:Value\r\nName:\tTabbed\r\n",
    b":empty name\r\n  : blank name\r\n",
    b"Dup: 1\r\nDup: 2\r\n",
    b"Caf\xc3\xa9: non-ASCII name\r\nUnicode: caf\xc3\xa9\r\nBroken: \xff\xfe\r\n",
    b"Has Space: x\r\nHas\x1cSep: x\r\n\x1cLead: x\r\nTrail\x0b: x\r\n",
    b"Colons: a:b:c\r\nSpaces:    padded value   \r\n",
]


@pytest.mark.parametrize("raw", EDGE_CASES)
def test_edge_cases_match_nats_py(raw: bytes) -> None:
    assert parse_header_lines(raw) == Client._parse_header_lines(raw)


@pytest.mark.parametrize("code", range(128))
def test_every_ascii_character_in_a_name_matches_nats_py(code: int) -> None:
    char = bytes([code])
    raw = b"A" + char + b"B: v\r\n" + char + b"Lead: v\r\nTrail" + char + b": v\r\n"
    assert parse_header_lines(raw) == Client._parse_header_lines(raw)


@given(
    st.lists(
        st.tuples(
            st.binary(max_size=12).filter(lambda b: b"\r\n" not in b),
            st.sampled_from([b":", b": ", b"", b":\t"]),
            st.binary(max_size=12).filter(lambda b: b"\r\n" not in b),
        ),
        max_size=8,
    )
)
def test_random_header_blocks_match_nats_py(lines: list[tuple[bytes, bytes, bytes]]) -> None:
    raw = b"\r\n".join(name + sep + value for name, sep, value in lines) + b"\r\n\r\n"
    assert parse_header_lines(raw) == Client._parse_header_lines(raw)


def test_installed_on_the_connection_only() -> None:
    client = Client()
    speed_up_header_parsing(client)
    assert client._parse_header_lines is parse_header_lines
    assert Client._parse_header_lines is not parse_header_lines
