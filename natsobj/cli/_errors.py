"""Exit codes, and the one line of stderr every failure becomes."""

from __future__ import annotations

from enum import IntEnum

import natsobj

__all__ = ["CliError", "ExitCode", "classify", "one_line"]


class ExitCode(IntEnum):
    """What ``natsobj`` exits with. Scripts may rely on these numbers."""

    OK = 0
    ERROR = 1
    """Anything not listed below: a digest mismatch, a server-side error, local I/O."""
    BAD_INPUT = 2
    """Usage errors, invalid bucket or object names, bad option values, missing local files."""
    NOT_FOUND = 3
    """No such bucket, object or feed."""
    UNREACHABLE = 4
    """No NATS server reachable, no JetStream there, or it did not answer in time."""
    CONFLICT = 5
    """The bucket or object exists already (differently), or the bucket is sealed."""
    PERMISSION = 6
    """The server refused the credentials or the operation."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C (SIGINT); 143 for SIGTERM."""
    BROKEN_PIPE = 141
    """The reader of stdout went away (``natsobj cat ... | head``), as for other tools."""


class CliError(Exception):
    """A failure the CLI reports as one line, with an exit code."""

    def __init__(self, message: str, code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.code = code


def one_line(text: str) -> str:
    """``text`` with its lines joined, so every error is exactly one line."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def classify(exc: natsobj.ObjectStoreError) -> ExitCode:
    """The exit code for a natsobj error, by its meaning."""
    match exc:
        case natsobj.BucketNotFoundError() | natsobj.ObjectNotFoundError():
            return ExitCode.NOT_FOUND
        case natsobj.FeedNotFoundError():
            return ExitCode.NOT_FOUND
        case natsobj.UpdateMetaDeletedError() | natsobj.NoLinkToDeletedError():
            return ExitCode.NOT_FOUND
        case (
            natsobj.InvalidBucketNameError()
            | natsobj.InvalidObjectNameError()
            | natsobj.InvalidArgumentError()
            | natsobj.LocalFileNotFoundError()
            | natsobj.NoLinkToLinkError()
            | natsobj.LinkIsBucketError()
            | natsobj.LinkNotAllowedError()
        ):
            return ExitCode.BAD_INPUT
        case natsobj.BucketExistsError() | natsobj.ObjectExistsError():
            return ExitCode.CONFLICT
        case natsobj.BucketSealedError() | natsobj.ExpiryExtensionRejectedError():
            return ExitCode.CONFLICT
        case natsobj.ServerUnavailableError() | natsobj.ObjectStoreTimeoutError():
            return ExitCode.UNREACHABLE
        case natsobj.PermissionDeniedError():
            return ExitCode.PERMISSION
        case _:
            return ExitCode.ERROR
