"""``natsobj serve``: the HTTP gateway (Supabase Storage, Sentry Objectstore) on uvicorn."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._connect import DEFAULT_SERVER, Settings
from ._errors import CliError, ExitCode
from ._options import global_options, pass_settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["app_from_env", "serve"]

# Every worker process builds its app from these (uvicorn starts workers by import string).
_SETTINGS_ENV = {
    "server": "NATSOBJ_SERVER",
    "user": "NATS_USER",
    "password": "NATS_PASSWORD",
    "token": "NATS_TOKEN",
    "nkey": "NATS_NKEY",
    "creds": "NATS_CREDS",
    "tls_cert": "NATS_CERT",
    "tls_key": "NATS_KEY",
    "tls_ca": "NATS_CA",
}


def _objectstore_keys(specs: str) -> dict[str, list[bytes]]:
    """KID=PATH specs by kid; a kid given again gets another key version (rotation)."""
    keys: dict[str, list[bytes]] = {}
    for spec in specs.split():
        kid, sep, path = spec.partition("=")
        if not sep or not kid or not path:
            raise CliError(f"--objectstore-key wants KID=PATH, got {spec!r}", ExitCode.BAD_INPUT)
        try:
            keys.setdefault(kid, []).append(Path(path).expanduser().read_bytes())
        except OSError as exc:
            raise CliError(f"--objectstore-key {kid}: {exc}", ExitCode.BAD_INPUT) from exc
    return keys


def app_from_env() -> Starlette:
    """The uvicorn factory: ``create_app`` configured from the ``NATSOBJ_*`` (and
    ``NATS_*`` connection) variables that ``serve`` sets for its workers."""
    from natsobj.gateway import create_app

    env = os.environ
    settings = Settings(server=env.get("NATSOBJ_SERVER", DEFAULT_SERVER))
    for field, name in _SETTINGS_ENV.items():
        if field != "server" and env.get(name):
            setattr(settings, field, env[name])
    if env.get("NATSOBJ_TIMEOUT"):
        settings.timeout = float(env["NATSOBJ_TIMEOUT"])
    return create_app(
        settings.servers,
        jwt_secret=env.get("NATSOBJ_JWT_SECRET") or None,
        anon_key=env.get("NATSOBJ_ANON_KEY") or None,
        service_key=env.get("NATSOBJ_SERVICE_KEY") or None,
        objectstore_keys=_objectstore_keys(env.get("NATSOBJ_OBJECTSTORE_KEY", "")),
        objectstore_key_set=env.get("NATSOBJ_OBJECTSTORE_KEY_SET") or None,
        timeout=settings.timeout,
        **settings.connect_options(),
    )


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="NATSOBJ_HOST",
    show_envvar=True,
    help="Listen address.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=5000,
    show_default=True,
    envvar="NATSOBJ_PORT",
    show_envvar=True,
    help="Listen port.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    envvar="NATSOBJ_WORKERS",
    show_envvar=True,
    help="Worker processes.",
)
@click.option(
    "--jwt-secret",
    envvar="NATSOBJ_JWT_SECRET",
    show_envvar=True,
    metavar="SECRET",
    help="HS256 secret of Supabase JWTs; also signs signed URLs.",
)
@click.option(
    "--objectstore-key",
    "objectstore_keys",
    multiple=True,
    metavar="KID=PATH",
    envvar="NATSOBJ_OBJECTSTORE_KEY",
    show_envvar=True,
    help="An Ed25519 public key PEM for Sentry Objectstore tokens (repeatable).",
)
@click.option(
    "--objectstore-key-set",
    envvar="NATSOBJ_OBJECTSTORE_KEY_SET",
    show_envvar=True,
    metavar="BUCKET",
    help="Also verify Objectstore tokens with the shared key set in this bucket (e.g. "
    "natsobj_objectstore_keys; see natsobj objectstore-key): changes hold within 1 s.",
)
@click.option(
    "--anon-key",
    envvar="NATSOBJ_ANON_KEY",
    show_envvar=True,
    metavar="KEY",
    help="A fixed key accepted as the anon role.",
)
@click.option(
    "--service-key",
    envvar="NATSOBJ_SERVICE_KEY",
    show_envvar=True,
    metavar="KEY",
    help="A fixed key accepted as the service_role.",
)
@global_options()
@pass_settings
def serve(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    jwt_secret: str | None,
    objectstore_keys: tuple[str, ...],
    objectstore_key_set: str | None,
    anon_key: str | None,
    service_key: str | None,
) -> None:
    """Serve the HTTP gateway until Ctrl-C: Supabase Storage under /storage/v1, Sentry
    Objectstore under /v1, /health and /ready (which checks NATS).

    Needs the gateway extra: pip install 'natsobj[gateway]'.
    """
    if any(importlib.util.find_spec(m) is None for m in ("starlette", "uvicorn", "jwt")):
        raise CliError(
            "natsobj serve needs the gateway extra: pip install 'natsobj[gateway]'",
            ExitCode.BAD_INPUT,
        )
    import uvicorn

    _objectstore_keys(" ".join(objectstore_keys))  # bad specs fail here, not in a worker
    settings.connect_options()  # so do unusable credential files
    if settings.server == DEFAULT_SERVER and os.environ.get("NATSOBJ_SERVER"):
        settings.server = os.environ["NATSOBJ_SERVER"]
    for field, name in _SETTINGS_ENV.items():
        value = getattr(settings, field)
        if value is not None:
            os.environ[name] = value
    os.environ["NATSOBJ_TIMEOUT"] = str(settings.timeout)
    for name, value in (
        ("NATSOBJ_JWT_SECRET", jwt_secret),
        ("NATSOBJ_ANON_KEY", anon_key),
        ("NATSOBJ_SERVICE_KEY", service_key),
        ("NATSOBJ_OBJECTSTORE_KEY", " ".join(objectstore_keys)),
        ("NATSOBJ_OBJECTSTORE_KEY_SET", objectstore_key_set),
    ):
        os.environ[name] = value or ""
    uvicorn.run(
        "natsobj.cli._serve:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning" if settings.quiet else "info",
    )
