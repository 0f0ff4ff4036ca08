"""finish_first and nats_call against both kinds of cancellation: an anyio cancel scope's,
which comes again at every checkpoint, and a native ``Task.cancel()``, which comes once."""

from __future__ import annotations

import ast
import asyncio
import contextlib
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from natsobj._cancellation import finish_first
from natsobj._jetstream import _mapping

pytestmark = pytest.mark.anyio


async def _swallowing() -> str:
    """What nats-py's publish does past its pending limit: swallow a CancelledError."""
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(0.05)
    return "sent"


async def test_nats_call_raises_a_native_cancellation_that_was_swallowed() -> None:
    task = asyncio.create_task(_mapping.nats_call(_swallowing()))
    await asyncio.sleep(0.01)
    task.cancel()
    with anyio.fail_after(1):
        await asyncio.wait({task})
    assert task.cancelled()


async def test_nats_call_leaves_an_anyio_scope_its_own_cancellation() -> None:
    with anyio.fail_after(1), anyio.move_on_after(0.01) as scope:
        await _mapping.nats_call(_swallowing())
        pytest.fail("the scope's cancellation was lost")
    assert scope.cancelled_caught
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_nats_call_returns_the_result_when_nothing_cancels() -> None:
    assert await _mapping.nats_call(_swallowing()) == "sent"


async def test_finish_first_ends_its_work_then_raises_a_native_cancellation() -> None:
    ended: list[str] = []

    async def work() -> None:
        await asyncio.sleep(0.05)
        ended.append("work")

    task = asyncio.create_task(finish_first(work))
    for _ in range(3):  # cancelled again and again: the work still ends
        await asyncio.sleep(0.01)
        task.cancel()
    with anyio.fail_after(1):
        await asyncio.wait({task})
    assert ended == ["work"]
    assert task.cancelled()


async def test_finish_first_under_a_cancelled_anyio_scope() -> None:
    ended: list[str] = []

    async def work() -> str:
        await anyio.sleep(0.05)
        ended.append("work")
        return "done"

    with anyio.fail_after(1), anyio.move_on_after(0.01) as scope:
        assert await finish_first(work) == "done"  # as under a shield
        await anyio.lowlevel.checkpoint()
        pytest.fail("the scope's cancellation was lost")
    assert ended == ["work"]
    assert scope.cancelled_caught


async def test_finish_first_passes_the_work_error_on() -> None:
    async def work() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        await finish_first(work)


# nats-py calls that may wait (and so swallow a cancellation); the readiness poll of a
# starting server uses a private connection of its own.
_NATS_WAITS = {"publish", "request", "subscribe", "flush", "close", "drain"}
_EXEMPT = {("_connect.py", "wait_jetstream")}


def test_every_nats_py_wait_goes_through_nats_call() -> None:
    unguarded = []
    for path in sorted(Path(_mapping.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.AsyncFunctionDef):
                continue
            if (path.name, function.name) in _EXEMPT:
                continue
            for node in ast.walk(function):
                call = node.value if isinstance(node, ast.Await) else None
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr in _NATS_WAITS
                    and ast.unparse(call.func.value).split(".")[-1] in ("nc", "_nc")
                ):
                    unguarded.append(f"{path.name}:{call.lineno} in {function.name}")
    assert not unguarded, f"await nats_call(...) these nats-py calls: {unguarded}"
