"""Numbers given as text: ASCII digits only. ``str.isdigit`` also takes '²' (which
``int`` refuses) and other scripts' digits; such text is a usage error, not a crash."""

from __future__ import annotations

import pytest

import natsobj
from natsobj.cli import invoke
from natsobj.obstore._adapter import _if_revision


@pytest.mark.parametrize("text", ["²", "٣", "9" * 5000])
def test_feed_reset_to_of_non_ascii_digits_is_a_usage_error(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Refused before connecting: the server address is never used.
    argv = ["feed", "reset", "bucket", "feed", "--to", text, "--server", "nats://127.0.0.1:1"]
    assert invoke(argv) == 2
    assert "neither a revision nor an ISO 8601 time" in capsys.readouterr().err


@pytest.mark.parametrize("e_tag", ["²", '"٣"', "9" * 5000])
def test_obstore_e_tag_of_non_ascii_or_too_many_digits_is_invalid(e_tag: str) -> None:
    with pytest.raises(natsobj.InvalidArgumentError):
        _if_revision({"e_tag": e_tag})
    assert _if_revision({"e_tag": '"12"'}) == 12
