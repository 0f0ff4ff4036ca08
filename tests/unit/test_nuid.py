"""NUIDs for chunk subjects (natsobj._jetstream.new_nuid): unique across processes forked
after natsobj was used (tests/reliability/test_fork.py runs real workers against a server)."""

from __future__ import annotations

import os

from natsobj._jetstream import new_nuid
from natsobj._wire import is_nuid


def test_nuids_are_nuids() -> None:
    assert all(is_nuid(new_nuid()) for _ in range(1000))


def test_a_forked_child_makes_other_nuids_than_its_parent() -> None:
    new_nuid()  # the generator has state to inherit
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next NUIDs and leave at once
        try:
            os.write(write, "".join(new_nuid() for _ in range(100)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child = pipe.read().decode()
    os.waitpid(pid, 0)
    theirs = {child[i : i + 22] for i in range(0, len(child), 22)}
    ours = {new_nuid() for _ in range(100)}
    assert len(theirs) == 100
    assert not ours & theirs
