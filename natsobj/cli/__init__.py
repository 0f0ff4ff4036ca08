"""The ``natsobj`` command line: buckets and objects from a shell, and a local server.

``main`` is the console script (``natsobj = "natsobj.cli:main"``); ``python -m natsobj.cli``
runs the same. ``invoke(argv)`` runs a command line and returns its exit code.
"""

from __future__ import annotations

from ._app import cli, invoke, main
from ._errors import ExitCode

__all__ = ["ExitCode", "cli", "invoke", "main"]
