"""The nats CLI's contexts: named connection settings in
``~/.config/nats/context/NAME.json`` (``$XDG_CONFIG_HOME/nats/...`` when that is set), the
selected one named in ``~/.config/nats/context.txt``, as natscli writes them
(``nats context add``).

A context file is read as untrusted input: a JSON object whose known keys must have the
right type; keys natsobj does not use (``description``, ``color_scheme``, ...) are
ignored, and those it cannot honour (``nsc``, ``user_jwt``, ``socks_proxy``) are refused
rather than silently dropped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ._errors import CliError, ExitCode

__all__ = ["CONTEXT_FIELDS", "context_dir", "load_context", "selected_context"]

# Context key -> the Settings field it fills.
CONTEXT_FIELDS = {
    "url": "server",
    "user": "user",
    "password": "password",
    "token": "token",
    "creds": "creds",
    "nkey": "nkey",
    "cert": "tls_cert",
    "key": "tls_key",
    "ca": "tls_ca",
    "jetstream_domain": "js_domain",
    "jetstream_api_prefix": "js_api_prefix",
    "inbox_prefix": "inbox_prefix",
}
# Keys natsobj cannot honour: a context using them would connect differently than nats does.
_UNSUPPORTED = ("nsc", "user_jwt", "socks_proxy")
_MAX_FILE = 1024 * 1024


def _config_home() -> Path:
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return Path(xdg) if xdg else Path.home() / ".config"


def context_dir() -> Path:
    """Where the nats CLI keeps its contexts."""
    return _config_home() / "nats" / "context"


def selected_context() -> str | None:
    """The context ``nats context select`` chose, or None."""
    try:
        name = (_config_home() / "nats" / "context.txt").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name or None


def _check_name(name: str) -> None:
    # natscli's rule: no path separators and no "..", so a name stays in the directory.
    if not name or ".." in name or "/" in name or os.sep in name:
        raise CliError(f"--context: invalid context name {name!r}", ExitCode.BAD_INPUT)


def load_context(name: str) -> dict[str, Any]:
    """The settings context ``name`` gives: Settings field -> value, only those set
    (empty strings are "not set", as natscli treats them); ``tls_first`` as a bool.

    Raises:
        CliError: no such context, or a file that is not a context natsobj can use.
    """
    _check_name(name)
    path = context_dir() / f"{name}.json"
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_FILE + 1)
    except FileNotFoundError:
        raise CliError(
            f"--context: unknown context {name!r} (no {path})", ExitCode.BAD_INPUT
        ) from None
    except OSError as exc:
        raise CliError(f"--context: cannot read {path}: {exc}", ExitCode.BAD_INPUT) from exc
    try:
        if len(raw) > _MAX_FILE:
            raise ValueError("over 1 MiB")
        data = json.loads(raw)
    except ValueError as exc:
        raise CliError(f"--context: {path} is not JSON: {exc}", ExitCode.BAD_INPUT) from exc
    if not isinstance(data, dict):
        raise CliError(f"--context: {path} is not a JSON object", ExitCode.BAD_INPUT)
    return _settings(data, path)


def _settings(data: dict[str, Any], path: Path) -> dict[str, Any]:
    def bad(key: str, kind: str) -> CliError:
        return CliError(f"--context: {path}: {key!r} must be {kind}", ExitCode.BAD_INPUT)

    for key in _UNSUPPORTED:
        if data.get(key):
            raise CliError(
                f"--context: {path} sets {key!r}, which natsobj does not support;"
                " pass the equivalent options instead",
                ExitCode.BAD_INPUT,
            )
    settings: dict[str, Any] = {}
    for key, field in CONTEXT_FIELDS.items():
        value = data.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise bad(key, "a string")
        settings[field] = value
    tls_first = data.get("tls_first", False)
    if not isinstance(tls_first, bool):
        raise bad("tls_first", "true or false")
    if tls_first:
        settings["tls_first"] = True
    return settings
