"""The CLI's way into other JetStreams: nats CLI contexts (``--context`` and the selected
one), ``--js-domain``, ``--js-api-prefix`` and ``--inbox-prefix``, against a hub and a
leaf node in their own domains."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import natsobj
from natsobj import EmbeddedLeafTopology, EmbeddedServer
from natsobj.cli import invoke
from natsobj.cli._connect import Settings
from tests.integration.test_cli import assert_error, concurrently, natsobj_cli

pytestmark = pytest.mark.anyio


def _context(home: Path, name: str, **settings: object) -> None:
    directory = home / "nats" / "context"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.json").write_text(json.dumps(settings))


async def test_contexts_and_jetstream_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    async with (
        EmbeddedLeafTopology(1) as topology,
        natsobj.connect(topology.hub.url) as hub,
    ):
        edge = topology.leaf.url
        # As natscli writes it: keys natsobj does not use are ignored, empty means unset.
        _context(tmp_path, "edge", url=edge, jetstream_domain="hub", description="d", creds="")
        added = await natsobj_cli(None, "--context", "edge", "bucket", "add", "ctx")
        assert added.code == 0, added.stderr
        assert "ctx" in await hub.object_store_names()  # the domain took it to the hub
        put = await natsobj_cli(
            edge, "--js-api-prefix", "$JS.hub.API", "put", "ctx", "-", "-n", "a", stdin=b"A"
        )
        assert put.code == 0, put.stderr
        # The selected context applies with no --context; options given still win.
        (tmp_path / "nats" / "context.txt").write_text("edge\n")
        cat = await natsobj_cli(None, "cat", "ctx", "a")
        assert (cat.code, cat.stdout) == (0, b"A")
        assert_error(await natsobj_cli(None, "--js-domain", "leaf", "cat", "ctx", "a"), 3)
        # A mirror of the hub's bucket in the leaf's own JetStream: reads only.
        leaf = ["--js-domain", "leaf"]
        mirror = ["bucket", "mirror", "ctx", "--origin-domain", "hub", "--ttl", "1h", "--json"]
        mirrored = await natsobj_cli(None, *leaf, *mirror)
        assert mirrored.code == 0, mirrored.stderr
        assert json.loads(mirrored.stdout)["bucket"] == "ctx"
        refused = await natsobj_cli(None, *leaf, "put", "ctx", "-", "-n", "b", stdin=b"B")
        assert_error(refused, 5, "mirror", "read-only")


def test_bad_contexts_and_prefixes_are_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused before connecting: in-process, no server needed."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    for variable in (
        "NATS_URL",
        "NATS_CONTEXT",
        "NATS_JS_DOMAIN",
        "NATS_JS_API_PREFIX",
        "NATS_INBOX_PREFIX",
    ):
        monkeypatch.delenv(variable, raising=False)
    _context(tmp_path, "nsc", nsc="nsc://op/acc/user")
    (tmp_path / "nats" / "context" / "broken.json").write_text("{")
    _context(tmp_path, "typed", url=["not", "a", "string"])
    for args, words in [
        (["--context", "missing"], ("unknown context",)),
        (["--context", "nsc"], ("nsc", "not support")),
        (["--context", "broken"], ("not JSON",)),
        (["--context", "typed"], ("'url' must be a string",)),
        (["--context", "../edge"], ("invalid context name",)),
        (["--js-domain", "a.b"], ("one subject token",)),
        (["--inbox-prefix", "_IN.*"], ("wildcards",)),
        (["--js-api-prefix", "$JS. API"], ("wildcards",)),
    ]:
        assert invoke([*args, "ls"]) == 2, args
        err = capsys.readouterr().err
        for word in words:
            assert word in err, (word, err)
    # The environment variables are read as the options are.
    for variable, value, word in [
        ("NATS_CONTEXT", "missing", "unknown context"),
        ("NATS_JS_DOMAIN", "a.b", "one subject token"),
        ("NATS_INBOX_PREFIX", "_IN.>", "wildcards"),
    ]:
        with monkeypatch.context() as env:
            env.setenv(variable, value)
            assert invoke(["ls"]) == 2, variable
        assert word in capsys.readouterr().err, variable


async def test_inbox_prefix_is_where_replies_come(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no selected context
    config = (
        "authorization { users = [ { user: u, password: p, permissions: {"
        ' publish: ">", subscribe: "_INBOX_mine.>" } } ] }\n'
    )
    async with EmbeddedServer(config=config) as server:
        creds = ["--user", "u", "--password", "p"]
        ok, refused = await concurrently(
            server.url,
            [*creds, "--inbox-prefix", "_INBOX_mine", "bucket", "add", "mine"],
            [*creds, "bucket", "ls"],
        )
        assert ok.code == 0, ok.stderr
        assert_error(refused, 6)
        _context(
            tmp_path, "mine", url=server.url, user="u", password="p", inbox_prefix="_INBOX_mine"
        )
        listed = await natsobj_cli(None, "--context", "mine", "bucket", "ls", "--json")
        assert listed.code == 0, listed.stderr
        assert b"mine" in listed.stdout


def test_options_given_win_over_the_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    _context(
        tmp_path,
        "full",
        url="nats://ctx:4222",
        user="cu",
        token="",
        ca="/ca.pem",
        jetstream_api_prefix="$JS.ctx.API",
        inbox_prefix="_INBOX_ctx",
        tls_first=True,
    )
    given = Settings(context="full", user="me", js_domain="d", given={"user", "js_domain"})
    resolved = given.resolved()
    assert (resolved.server, resolved.user, resolved.token, resolved.tls_ca) == (
        "nats://ctx:4222",
        "me",
        None,
        "/ca.pem",
    )
    # A domain given replaces the context's API prefix: the two cannot go together.
    assert (resolved.js_domain, resolved.js_api_prefix) == ("d", None)
    assert (resolved.inbox_prefix, resolved.tls_first) == ("_INBOX_ctx", True)
    assert Settings().resolved() == Settings()  # no context selected
    (tmp_path / "nats" / "context.txt").write_text("full")
    assert Settings().resolved().js_api_prefix == "$JS.ctx.API"
