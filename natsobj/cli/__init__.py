"""The ``natsobj`` command line: buckets and objects from a shell, and a local server.

It needs the ``cli`` extra (click and rich): ``pip install 'natsobj[cli]'``. ``main`` is the
console script (``natsobj = "natsobj.cli:main"``) and imports them only when it runs, so a
core-only install prints how to get them instead of a traceback. ``python -m natsobj`` and
``python -m natsobj.cli`` run the same. ``invoke(argv)`` runs a command line and returns its
exit code.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from ._errors import ExitCode

if TYPE_CHECKING:
    from ._app import cli, invoke

__all__ = ["INSTALL_HINT", "ExitCode", "cli", "invoke", "main"]

INSTALL_HINT = "pip install 'natsobj[cli]'"
_NEEDED = ("click", "rich")  # what the cli extra adds that every command imports


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script: run the command line and exit with its code.

    Without the ``cli`` extra it prints one line saying how to install it and exits with 1.
    """
    missing = [name for name in _NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"natsobj: error: the command line needs {' and '.join(missing)}, "
            f"which the 'cli' extra installs: {INSTALL_HINT}",
            file=sys.stderr,
        )
        sys.exit(ExitCode.ERROR)
    from ._app import main as run

    run(argv)


def __getattr__(name: str) -> Any:
    # ``cli`` and ``invoke`` are click objects: imported on first use, not with the package.
    if name in ("cli", "invoke"):
        from . import _app

        return getattr(_app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
