"""The options every command shares (connection, ``--quiet``, ``--json``) and completion."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import click
from click.shell_completion import CompletionItem

import natsobj
from natsobj._checks import check_subject

from ._connect import DEFAULT_SERVER, Settings, open_manager, open_store
from ._parse import DURATION

__all__ = [
    "bucket_argument",
    "complete_bucket",
    "complete_object",
    "global_options",
    "json_option",
    "pass_settings",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class _Option:
    decls: tuple[str, ...]
    dest: str
    env: str
    help: str
    metavar: str
    type: Any = None


_CONNECTION_OPTIONS = (
    _Option(
        ("-s", "--server"),
        "server",
        "NATS_URL",
        f"NATS server URL(s), comma-separated. [default: {DEFAULT_SERVER}]",
        "URL",
    ),
    _Option(("--user",), "user", "NATS_USER", "User name.", "USER"),
    _Option(("--password",), "password", "NATS_PASSWORD", "Password.", "PASSWORD"),
    _Option(("--token",), "token", "NATS_TOKEN", "Authentication token.", "TOKEN"),
    _Option(("--nkey",), "nkey", "NATS_NKEY", "NKey seed file.", "FILE"),
    _Option(("--creds",), "creds", "NATS_CREDS", "User credentials (JWT) file.", "FILE"),
    _Option(("--tls-cert",), "tls_cert", "NATS_CERT", "TLS client certificate file.", "FILE"),
    _Option(("--tls-key",), "tls_key", "NATS_KEY", "TLS client key file.", "FILE"),
    _Option(("--tls-ca",), "tls_ca", "NATS_CA", "CA file to verify the server with.", "FILE"),
    _Option(
        ("--timeout",),
        "timeout",
        "NATS_TIMEOUT",
        "Deadline of each request to the server (e.g. 5s, 500ms). [default: 5s]",
        "DURATION",
        DURATION,
    ),
    _Option(
        ("--context",),
        "context",
        "NATS_CONTEXT",
        "A nats CLI context (~/.config/nats/context/NAME.json); options given win over it."
        " [default: the one `nats context select` chose, if any]",
        "NAME",
    ),
    _Option(
        ("--js-domain",),
        "js_domain",
        "NATS_JS_DOMAIN",
        "JetStream domain to use (its API is $JS.<DOMAIN>.API).",
        "DOMAIN",
    ),
    _Option(
        ("--js-api-prefix",),
        "js_api_prefix",
        "NATS_JS_API_PREFIX",
        "Subject prefix of the JetStream API. [default: $JS.API]",
        "PREFIX",
    ),
    _Option(
        ("--inbox-prefix",),
        "inbox_prefix",
        "NATS_INBOX_PREFIX",
        "Subject prefix of reply inboxes. [default: _INBOX]",
        "PREFIX",
    ),
)


def _set_setting(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and param.name is not None:
        if param.name == "timeout" and value <= 0:
            raise click.BadParameter("must be more than 0", ctx=ctx, param=param)
        if param.name in _SUBJECTS:
            try:
                check_subject(value, param.opts[-1], token=param.name == "js_domain")
            except natsobj.InvalidArgumentError as exc:
                raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc
        settings = ctx.ensure_object(Settings)
        setattr(settings, param.name, value)
        settings.given.add(param.name)
    return value


_SUBJECTS = ("js_domain", "js_api_prefix", "inbox_prefix")


def _set_quiet(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value:
        ctx.ensure_object(Settings).quiet = True
    return value


def global_options(*, group: bool = False) -> Callable[[F], F]:
    """The connection options and ``--quiet``, accepted by the group and every command.

    On the group they also read the environment (``NATS_URL``, ...); given on a command
    they win over the group's.
    """

    def decorate(func: F) -> F:
        for opt in reversed(_CONNECTION_OPTIONS):
            func = click.option(
                *opt.decls,
                opt.dest,
                type=opt.type,
                metavar=opt.metavar,
                envvar=opt.env if group else None,
                show_envvar=group,
                expose_value=False,
                callback=_set_setting,
                help=opt.help if group else f"{opt.help} [env: {opt.env}]",
            )(func)
        func = click.option(
            "-q",
            "--quiet",
            "quiet",
            is_flag=True,
            expose_value=False,
            callback=_set_quiet,
            help="No progress bars or summaries; errors only.",
        )(func)
        return func

    return decorate


def json_option(func: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON (keys documented in docs/cli.md)."
    )(func)


pass_settings = click.make_pass_decorator(Settings, ensure=True)


# --------------------------------------------------------------------------- completion


def _completion_settings(ctx: click.Context) -> Settings:
    settings = ctx.find_object(Settings)
    if settings is None:
        settings = Settings(server=os.environ.get("NATS_URL", DEFAULT_SERVER))
    settings.timeout = min(settings.timeout, 2.0)
    return settings


def _complete(ctx: click.Context, fetch: Callable[[Settings], Awaitable[list[str]]]) -> list[str]:
    names: list[str] = []

    async def go() -> None:
        with anyio.move_on_after(3):
            names.extend(await fetch(_completion_settings(ctx)))

    with contextlib.suppress(Exception):
        anyio.run(go, backend="asyncio")
    return names


def complete_bucket(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    async def fetch(settings: Settings) -> list[str]:
        async with open_manager(settings) as manager:
            return await manager.object_store_names()

    return [CompletionItem(n) for n in _complete(ctx, fetch) if n.startswith(incomplete)]


def complete_object(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    bucket = ctx.params.get("bucket")
    if not isinstance(bucket, str):
        return []

    async def fetch(settings: Settings) -> list[str]:
        async with open_store(settings, bucket) as store:
            return [info.name for info in await store.list(prefix=incomplete or None)]

    return [CompletionItem(n) for n in _complete(ctx, fetch)]


bucket_argument = click.argument("bucket", shell_complete=complete_bucket)
