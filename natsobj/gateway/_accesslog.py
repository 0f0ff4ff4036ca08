"""The access log: one record per request on the ``natsobj.gateway.access`` logger.

Each record's message is one readable line; the same facts ride on the record as
``record.access`` (a dict), which ``JsonFormatter`` writes as one JSON object per line.
The query string is never logged: signed URLs carry their tokens there. The path is the
client's (percent-decoded): in the text line its quotes, backslashes and control
characters are escaped, so that a path cannot end the line or forge another.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

__all__ = ["ACCESS_LOGGER", "JsonFormatter", "access_enabled", "log_access"]

ACCESS_LOGGER = "natsobj.gateway.access"
_log = logging.getLogger(ACCESS_LOGGER)
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f"\\\u2028\u2029]')
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}


def _escaped(text: str) -> str:
    """``text`` fit for one quoted field of a log line."""
    return _UNSAFE.sub(lambda m: _ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), text)


def access_enabled() -> bool:
    """Whether an access record would be written now (the logger takes INFO)."""
    return _log.isEnabledFor(logging.INFO)


def log_access(fields: dict[str, Any]) -> None:
    """Log one finished request. ``fields``: method, route, path, status, bytes_in,
    bytes_out, duration_ms, client, request_id and, after an unhandled failure, error."""
    if not _log.isEnabledFor(logging.INFO):
        return
    error = f" error={fields['error']}" if fields.get("error") else ""
    _log.info(
        '%s "%s %s" %s in=%s out=%s %.1fms route=%s id=%s%s',
        fields["client"] or "-",
        fields["method"],
        _escaped(fields["path"]),
        fields["status"],
        fields["bytes_in"],
        fields["bytes_out"],
        fields["duration_ms"],
        fields["route"],
        fields["request_id"],
        error,
        extra={"access": fields},
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, then the
    access fields for an access record, else ``message`` (and ``exception``, the
    traceback, for a failure: it goes to the log, never to a client)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            line.update(access)
        else:
            line["message"] = record.getMessage()
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
