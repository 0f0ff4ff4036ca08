"""``natsobj serve``'s configuration: ``--config FILE`` (TOML), and what reaches the workers.

Precedence, for every setting: a flag > its environment variable > the config file > the
default. The file's keys are the flags' names without the dashes (``jwt-secret``; an
underscore may stand for a dash); an unknown key or a value of the wrong type stops the
command with a message naming the file and the key. Gateway flags go through click's
``default_map`` (which click ranks below flags and env); the connection options are shared
with the group (``natsobj --server URL serve``, ``NATS_URL``), so ``apply_connection``
ranks those by where click says each value came from.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from ._connect import Settings

__all__ = ["CONFIG_META", "apply_connection", "config_option", "log_config"]

CONFIG_META = "natsobj.serve.connection"
"""``ctx.meta`` key: the connection settings read from the config file, by param name."""

_GIVEN = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
_NOT_IN_FILE = frozenset({"config", "help"})


def _key(param: click.Parameter) -> str:
    long = [opt for opt in param.opts if opt.startswith("--")]
    return (long[0] if long else param.opts[0]).lstrip("-")


def _fail(path: str, message: str) -> click.BadParameter:
    return click.BadParameter(f"{path}: {message}", param_hint="'--config'")


def _cast(ctx: click.Context, param: click.Parameter, value: Any, path: str, key: str) -> Any:
    """``value`` from the file as ``param`` would take it from the command line."""
    is_flag = isinstance(param, click.Option) and param.is_flag
    if is_flag and not isinstance(value, bool):
        raise _fail(path, f"key {key!r} wants true or false, got {value!r}")
    if param.multiple:
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(path, f"key {key!r} wants a string or a list of strings")
    elif key == "server" and isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise _fail(path, "key 'server' wants a URL or a list of URLs")
        value = ",".join(value)
    elif isinstance(value, dict | list):
        raise _fail(path, f"key {key!r} wants a single value, got {type(value).__name__}")
    try:
        return param.type_cast_value(ctx, value)
    except click.BadParameter as exc:
        raise _fail(path, f"key {key!r}: {exc.message}") from exc


def read_config(ctx: click.Context, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The file's settings as (gateway flags, connection options), each by param name,
    values already converted and checked.

    Raises:
        click.BadParameter: unreadable file, bad TOML, an unknown key, a bad value.
    """
    try:
        data = tomllib.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(path, f"cannot read it: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _fail(path, f"not valid TOML: {exc}") from exc
    params = {
        _key(p): p
        for p in ctx.command.params
        if p.name is not None and p.name not in _NOT_IN_FILE and p.opts
    }
    flags: dict[str, Any] = {}
    connection: dict[str, Any] = {}
    seen: set[str] = set()
    for raw, value in data.items():
        key = raw.replace("_", "-")
        param = params.get(key)
        if param is None or param.name is None:
            near = difflib.get_close_matches(key, params, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            known = ", ".join(sorted(params))
            raise _fail(path, f"unknown key {raw!r}{hint}; known keys: {known}")
        if key in seen:
            raise _fail(path, f"key {key!r} is given twice")
        seen.add(key)
        target = flags if param.expose_value else connection
        target[param.name] = _cast(ctx, param, value, path, key)
    return flags, connection


def _load(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    flags, connection = read_config(ctx, value)
    ctx.default_map = {**(ctx.default_map or {}), **flags}
    ctx.meta[CONFIG_META] = connection
    return value


config_option = click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    envvar="NATSOBJ_CONFIG",
    show_envvar=True,
    is_eager=True,
    expose_value=False,
    callback=_load,
    metavar="FILE",
    help="A TOML file of settings, keys named as the flags (jwt-secret = ...); "
    "flags and env win over it.",
)


def _source(ctx: click.Context, name: str) -> ParameterSource | None:
    """Where the connection option ``name`` came from: this command's line, else the
    group's line or environment (``NATS_URL``, ...), else ``None``."""
    sources = [ctx.get_parameter_source(name)]
    if ctx.parent is not None:
        sources.append(ctx.parent.get_parameter_source(name))
    for wanted in _GIVEN:
        if wanted in sources:
            return wanted
    return None


def apply_connection(ctx: click.Context, settings: Settings) -> None:
    """Apply ``NATSOBJ_SERVER`` unless a ``--server`` flag was given, then the connection
    options from the config file, each only where no flag (of this command or the group)
    nor environment variable gave one."""
    from_file: Mapping[str, Any] = ctx.meta.get(CONFIG_META, {})
    if os.environ.get("NATSOBJ_SERVER") and _source(ctx, "server") != ParameterSource.COMMANDLINE:
        settings.server = os.environ["NATSOBJ_SERVER"]  # serve's own variable beats NATS_URL
    params = {p.name: p for p in ctx.command.params if p.name in from_file}
    for name, value in from_file.items():
        if _source(ctx, name) in _GIVEN:
            continue
        if name == "server" and os.environ.get("NATSOBJ_SERVER"):
            continue
        param = params[name]
        if param.callback is not None:
            param.callback(ctx, param, value)  # the same checks as on the command line
        else:
            setattr(settings, name, value)


def log_config(log_format: str, *, quiet: bool) -> dict[str, Any]:
    """uvicorn's logging config plus natsobj's: the access log (stdout) and the gateway's
    errors (stderr), as text lines or JSON objects."""
    from uvicorn.config import LOGGING_CONFIG

    json_lines = {"()": "natsobj.gateway._accesslog.JsonFormatter"}
    formatters = {
        "natsobj_access": json_lines if log_format == "json" else {"format": "%(message)s"},
        "natsobj_errors": json_lines
        if log_format == "json"
        else {"format": "%(levelname)s:     %(name)s: %(message)s"},
    }
    config: dict[str, Any] = {
        **LOGGING_CONFIG,
        "formatters": {**LOGGING_CONFIG["formatters"], **formatters},
        "handlers": {
            **LOGGING_CONFIG["handlers"],
            "natsobj_access": {
                "class": "logging.StreamHandler",
                "formatter": "natsobj_access",
                "stream": "ext://sys.stdout",
            },
            "natsobj_errors": {
                "class": "logging.StreamHandler",
                "formatter": "natsobj_errors",
                "stream": "ext://sys.stderr",
            },
        },
    }
    config["loggers"] = {
        **LOGGING_CONFIG["loggers"],
        "natsobj.gateway": {"handlers": ["natsobj_errors"], "level": "INFO", "propagate": False},
        "natsobj.gateway.access": {
            "handlers": ["natsobj_access"],
            "level": "WARNING" if quiet else "INFO",
            "propagate": False,
        },
    }
    return config
