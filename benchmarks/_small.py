"""Small objects: the same loop for every Python peer, one at a time or N at a time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

from ._common import OpResult, WorkerSpec, timed

SMALL_OPS = ("put_seq", "get_seq", "put_conc", "get_conc")


def small_names(mode: str, rep: int, count: int) -> list[str]:
    """The object names repetition ``rep`` of ``put_<mode>`` writes and ``get_<mode>`` reads."""
    return [f"{mode}{rep}-{i}" for i in range(count)]


async def pool(names: list[str], concurrency: int, op: Callable[[str], Awaitable[None]]) -> None:
    """Apply ``op`` to every name, ``concurrency`` at a time (a fixed set of worker tasks)."""
    work = iter(names)

    async def worker() -> None:
        for name in work:
            await op(name)

    if concurrency <= 1:
        await worker()
        return
    async with anyio.create_task_group() as tg:
        for _ in range(min(concurrency, len(names))):
            tg.start_soon(worker)


async def run_small(
    spec: WorkerSpec,
    put_one: Callable[[str], Awaitable[None]],
    get_one: Callable[[str], Awaitable[None]],
    settle: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, OpResult]:
    """Time each of ``spec.ops`` (from SMALL_OPS) ``spec.repeats`` times over ``spec.count``.

    ``settle`` is awaited, untimed, before each repetition of a get op (the peers that read
    through a consumer per get wait there until the server has removed the last ones).
    """
    results: dict[str, OpResult] = {}
    for op in spec.ops:
        if op not in SMALL_OPS:
            raise ValueError(f"unknown small-object op {op!r}")
        kind, mode = op.split("_")
        fn = put_one if kind == "put" else get_one
        concurrency = 1 if mode == "seq" else spec.concurrency
        reps = [small_names(mode, r, spec.count) for r in range(spec.repeats)]

        async def one_rep(
            r: int,
            fn: Callable[[str], Awaitable[None]] = fn,
            c: int = concurrency,
            reps: list[list[str]] = reps,
        ) -> None:
            await pool(reps[r], c, fn)

        before = settle if kind == "get" else None
        results[op] = await timed(OpResult(count=spec.count), spec.repeats, one_rep, before)
    return results
