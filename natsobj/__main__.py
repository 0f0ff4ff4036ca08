"""``python -m natsobj``: the ``natsobj`` command (it needs ``pip install 'natsobj[cli]'``)."""

from __future__ import annotations

from natsobj.cli import main

if __name__ == "__main__":
    main()
