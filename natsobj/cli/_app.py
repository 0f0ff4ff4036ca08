"""The ``natsobj`` command: the click group, the commands it holds, and ``main``.

Each command lives with its kind (``_server``, ``_buckets``, ``_transfer``, ``_objects``,
``_watch``, ``_feed``) and is registered here. ``main`` is the console script; ``invoke`` runs one
command line and returns its exit code, mapping every failure to one line and an exit code.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import click

import natsobj

from ._buckets import bucket
from ._errors import CliError, ExitCode, classify, one_line
from ._feed import feed
from ._keys import objectstore_key
from ._objects import info, link, ls, mv, rm, status
from ._options import global_options
from ._run import Interrupted, error
from ._serve import serve
from ._server import server
from ._transfer import cat, get, put
from ._watch import sweep, watch

__all__ = ["cli", "invoke", "main"]


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script: run the command line and exit with its code."""
    sys.exit(invoke(argv))


def invoke(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    try:
        result = cli.main(args=argv, prog_name="natsobj", standalone_mode=False)
    except Interrupted as exc:
        error("interrupted")
        return exc.code
    except CliError as exc:
        if str(exc):
            error(one_line(str(exc)))
        return int(exc.code)
    except natsobj.ObjectStoreError as exc:
        error(one_line(str(exc)))
        return int(classify(exc))
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # click 8.2+: `natsobj` alone
            exc.show()
            return ExitCode.BAD_INPUT
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        error(one_line(exc.format_message()) + hint)
        return ExitCode.BAD_INPUT
    except click.ClickException as exc:
        error(one_line(exc.format_message()))
        return exc.exit_code
    except click.Abort:
        error("aborted")
        return ExitCode.ERROR
    except OSError as exc:
        error(one_line(str(exc)))
        return ExitCode.ERROR
    except KeyboardInterrupt:
        error("interrupted")
        return ExitCode.INTERRUPTED
    except Exception as exc:  # a bug: still one line, the details on request
        if os.environ.get("NATSOBJ_DEBUG"):
            raise
        error(f"unexpected {type(exc).__name__}: {one_line(str(exc))} (NATSOBJ_DEBUG=1 shows more)")
        return ExitCode.ERROR
    return result if isinstance(result, int) else ExitCode.OK


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    no_args_is_help=True,
)
@click.version_option(natsobj.__version__, "-V", "--version", prog_name="natsobj")
@global_options(group=True)
def cli() -> None:
    """Store files and streams in NATS JetStream object stores.

    Wire-compatible with the NATS object store: `nats object`, nats.go, nats.js and
    nats-py read what natsobj writes, and the other way round.

    \b
    Try it:
      natsobj server &                 # a local nats-server with JetStream
      natsobj bucket add files
      natsobj put files ./photos       # a directory, recursively
      natsobj ls files
      natsobj get files photo.jpg -o /tmp/photo.jpg

    Sizes (e.g. 512, 64KiB, 10MB, 1.5GiB): kB MB GB TB PB are powers of 1000;
    KiB MiB GiB TiB PiB, and K M G T P alone, are powers of 1024.

    Exit codes: 0 ok, 1 error, 2 bad input, 3 not found, 4 server unreachable,
    5 conflict (exists, sealed), 6 permission denied, 130 interrupted.
    """


cli.add_command(server)
cli.add_command(serve)
cli.add_command(bucket)
cli.add_command(objectstore_key)
cli.add_command(feed)
for command in (put, get, cat, ls, info, status, rm, mv, link, watch, sweep):
    cli.add_command(command)
