"""``python -m natsobj.cli``: the same as the ``natsobj`` command."""

from __future__ import annotations

from natsobj.cli import main

if __name__ == "__main__":
    main()
