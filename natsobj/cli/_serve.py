"""``natsobj serve``: the HTTP gateway (Supabase Storage, Sentry Objectstore) on uvicorn."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import os
import shutil
import ssl
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

import natsobj

from .._checks import check_origins
from ._connect import Settings
from ._errors import CliError, ExitCode
from ._options import global_options
from ._serve_config import apply_connection, config_option, log_config

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["app_from_env", "serve", "server_choice"]

F = TypeVar("F", bound=Callable[..., Any])

# What the parent resolved (flags, env, file), handed to every worker process as JSON:
# uvicorn starts its workers by import string, each builds its app from this.
WORKER_CONFIG_ENV = "NATSOBJ_SERVE_CONFIG"
_GATEWAY_KEYS = (
    "jwt_secret",
    "anon_key",
    "service_key",
    "objectstore_keys",
    "objectstore_key_set",
    "cors_origins",
)
_OBSERVE_KEYS = ("metrics", "access_log", "tracing")


def _objectstore_keys(specs: list[str] | tuple[str, ...]) -> dict[str, list[bytes]]:
    """KID=PATH specs by kid; a kid given again gets another key version (rotation)."""
    keys: dict[str, list[bytes]] = {}
    for spec in (part for item in specs for part in item.split()):
        kid, sep, path = spec.partition("=")
        if not sep or not kid or not path:
            raise CliError(f"--objectstore-key wants KID=PATH, got {spec!r}", ExitCode.BAD_INPUT)
        try:
            keys.setdefault(kid, []).append(Path(path).expanduser().read_bytes())
        except OSError as exc:
            raise CliError(f"--objectstore-key {kid}: {exc}", ExitCode.BAD_INPUT) from exc
    return keys


def _cors_origins(origins: tuple[str, ...]) -> None:
    # Checked without importing the gateway: prometheus_client must first be imported
    # in the workers, once PROMETHEUS_MULTIPROC_DIR is set.
    try:
        check_origins(origins)
    except natsobj.InvalidArgumentError as exc:
        raise CliError(f"--cors-origin: {exc}", ExitCode.BAD_INPUT) from exc


def app_from_env() -> Starlette:
    """The uvicorn factory: ``create_app`` configured as ``serve`` resolved it (the JSON in
    ``NATSOBJ_SERVE_CONFIG``); the same in every worker."""
    from natsobj.gateway import create_app

    raw = os.environ.get(WORKER_CONFIG_ENV)
    if not raw:
        raise RuntimeError(f"{WORKER_CONFIG_ENV} is not set: start the gateway with natsobj serve")
    config = json.loads(raw)
    settings = Settings(**config["settings"])
    gateway = config["gateway"]
    provider = None
    if gateway["tracing"]:
        from natsobj.gateway._tracing import configure_provider

        provider = configure_provider()
    return create_app(
        settings.servers,
        jwt_secret=gateway["jwt_secret"],
        anon_key=gateway["anon_key"],
        service_key=gateway["service_key"],
        objectstore_keys=_objectstore_keys(gateway["objectstore_keys"]),
        objectstore_key_set=gateway.get("objectstore_key_set"),
        metrics=gateway["metrics"],
        access_log=gateway["access_log"],
        tracing=gateway["tracing"],
        tracer_provider=provider,
        cors_origins=gateway.get("cors_origins", ()),
        timeout=settings.timeout,
        **settings.connect_options(),
    )


def _https(cert: str | None, key: str | None, client_ca: str | None) -> dict[str, Any]:
    """uvicorn's TLS arguments, the files checked here so that a bad one fails now."""
    if cert is None and key is None:
        if client_ca is not None:
            raise CliError(
                "--https-client-ca needs --https-cert and --https-key", ExitCode.BAD_INPUT
            )
        return {}
    if cert is None or key is None:
        raise CliError("--https-cert and --https-key go together", ExitCode.BAD_INPUT)
    try:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        if client_ca is not None:
            context.load_verify_locations(client_ca)
    except (ssl.SSLError, OSError) as exc:
        raise CliError(f"cannot load the HTTPS files: {exc}", ExitCode.BAD_INPUT) from exc
    options: dict[str, Any] = {"ssl_certfile": cert, "ssl_keyfile": key}
    if client_ca is not None:
        options.update(ssl_ca_certs=client_ca, ssl_cert_reqs=ssl.CERT_REQUIRED)
    return options


def _check_extras(tracing: bool) -> None:
    needed = ("starlette", "uvicorn", "jwt", "prometheus_client")
    if any(importlib.util.find_spec(m) is None for m in needed):
        raise CliError(
            "natsobj serve needs the gateway extra: pip install 'natsobj[gateway]'",
            ExitCode.BAD_INPUT,
        )
    if tracing:
        try:
            found = importlib.util.find_spec("opentelemetry.sdk") is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            raise CliError(
                "--tracing needs the tracing extra: pip install 'natsobj[tracing]'",
                ExitCode.BAD_INPUT,
            )
        from natsobj.gateway._tracing import exporter_name

        try:
            exporter_name()
        except ValueError as exc:
            raise CliError(str(exc), ExitCode.BAD_INPUT) from exc


def server_choice() -> tuple[str, str]:
    """uvicorn's event loop and HTTP parser: uvloop and httptools where installed (the
    ``[gateway]`` extra installs them; they cost the least CPU per request and per GB,
    see docs/gateway.md), else asyncio and h11."""

    def have(module: str) -> bool:
        return importlib.util.find_spec(module) is not None

    return ("uvloop" if have("uvloop") else "asyncio", "httptools" if have("httptools") else "h11")


@contextlib.contextmanager
def _worker_environment(config: dict[str, Any], workers: int, metrics: bool) -> Iterator[None]:
    """The environment the workers start with; restored, and the metrics directory removed,
    when the server stops."""
    saved = {name: os.environ.get(name) for name in (WORKER_CONFIG_ENV, "PROMETHEUS_MULTIPROC_DIR")}
    metrics_dir = None
    try:
        os.environ[WORKER_CONFIG_ENV] = json.dumps(config)
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        if metrics and workers > 1:  # one fresh directory per run: see gateway/_metrics.py
            metrics_dir = tempfile.mkdtemp(prefix="natsobj-metrics-")
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _option(flag: str, *decls: str, **kwargs: Any) -> Callable[[F], F]:
    """A serve option whose variable is ``NATSOBJ_<FLAG>`` (DESIGN.md's rule)."""
    env = "NATSOBJ_" + flag.split("/")[0].lstrip("-").replace("-", "_").upper()
    return click.option(flag, *decls, envvar=env, show_envvar=True, **kwargs)


def _file(flag: str, help: str) -> Callable[[F], F]:
    return _option(flag, type=click.Path(dir_okay=False), metavar="FILE", help=help)


def _switch(flag: str, default: bool, help: str) -> Callable[[F], F]:
    return _option(flag, default=default, show_default=True, help=help)


@click.command()
@config_option
@_option("--host", default="127.0.0.1", show_default=True, help="Listen address.")
@_option(
    "--port", type=click.IntRange(0, 65535), default=5000, show_default=True, help="Listen port."
)
@_option(
    "--workers", type=click.IntRange(1, 256), default=1, show_default=True, help="Worker processes."
)
@_option("--jwt-secret", metavar="SECRET", help="HS256 secret of Supabase JWTs; signs URLs too.")
@_option(
    "--objectstore-key",
    "objectstore_keys",
    multiple=True,
    metavar="KID=PATH",
    help="An Ed25519 public key PEM for Sentry Objectstore tokens (repeatable; a KID "
    "given again adds a key version, for rotation).",
)
@_option(
    "--objectstore-key-set",
    metavar="BUCKET",
    help="Also verify Objectstore tokens with the shared key set in this bucket (e.g. "
    "natsobj_objectstore_keys; see natsobj objectstore-key): changes hold within 1 s.",
)
@_option("--anon-key", metavar="KEY", help="A fixed key accepted as the anon role.")
@_option("--service-key", metavar="KEY", help="A fixed key accepted as the service_role.")
@_option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Answer CORS for pages on this origin (scheme://host[:port], or * for any; "
    "repeatable): for browsers that call the gateway directly.",
)
@_file("--https-cert", "Serve HTTPS with this certificate chain (PEM); needs --https-key.")
@_file("--https-key", "The private key (PEM) of --https-cert.")
@_file("--https-client-ca", "Require client certificates signed by these CAs (mutual TLS).")
@_switch("--metrics/--no-metrics", True, "Serve Prometheus metrics at /metrics.")
@_switch("--access-log/--no-access-log", True, "One line per request on stdout.")
@_option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="The access log's and the gateway errors' format.",
)
@_switch("--tracing/--no-tracing", False, "OpenTelemetry spans (extra [tracing]; OTEL_* vars).")
@global_options()
@click.pass_context
def serve(ctx: click.Context, /, **options: Any) -> None:
    """Serve the HTTP gateway until Ctrl-C: Supabase Storage under /storage/v1, Sentry
    Objectstore under /v1, /health, /ready (which checks NATS) and /metrics.

    Needs the gateway extra: pip install 'natsobj[gateway]'. Settings come from flags,
    then NATSOBJ_* variables, then --config FILE (TOML), then the defaults.
    """
    _check_extras(options["tracing"])
    import uvicorn

    loop, http = server_choice()
    settings = ctx.ensure_object(Settings)
    apply_connection(ctx, settings)
    settings = settings.resolved()  # the nats CLI context, as every command
    _objectstore_keys(options["objectstore_keys"])  # bad specs fail here, not in a worker
    _cors_origins(options["cors_origins"])  # so do bad origins
    settings.connect_options()  # so do unusable credential files
    tls = _https(options["https_cert"], options["https_key"], options["https_client_ca"])
    gateway = {key: options[key] for key in (*_GATEWAY_KEYS, *_OBSERVE_KEYS)}
    gateway["objectstore_keys"] = list(options["objectstore_keys"])
    fields = dataclasses.asdict(settings)
    fields.pop("quiet")
    fields.pop("given")  # resolved already: the workers take the settings as they are
    with _worker_environment(
        {"settings": fields, "gateway": gateway}, options["workers"], options["metrics"]
    ):
        uvicorn.run(
            "natsobj.cli._serve:app_from_env",
            factory=True,
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            access_log=False,  # natsobj's own access log replaces uvicorn's
            log_config=log_config(options["log_format"], quiet=settings.quiet),
            log_level="warning" if settings.quiet else "info",
            loop=loop,
            http=http,
            **tls,
        )
