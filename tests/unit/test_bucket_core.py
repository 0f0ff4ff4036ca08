"""The bucket core's pure parts: the compare-and-set retry loop and the stream config a
bucket config makes (the layer rules are in test_layering.py)."""

from __future__ import annotations

import random

import anyio
import pytest

import natsobj
from natsobj._bucket._core import CAS_FIRST_BACKOFF, CAS_MAX_BACKOFF, retry_cas
from natsobj._policy import policy_from_metadata

pytestmark = pytest.mark.anyio


class Losing:
    """A compare-and-set step that loses ``losses`` times, then returns how often it ran."""

    def __init__(self, losses: int):
        self.losses = losses
        self.runs = 0

    async def __call__(self) -> int:
        self.runs += 1
        if self.runs <= self.losses:
            raise natsobj.PreconditionFailedError("lost")
        return self.runs


async def test_retry_cas_runs_the_step_again_until_it_wins() -> None:
    step = Losing(losses=4)
    assert await retry_cas(step, attempts=5) == 5


async def test_retry_cas_gives_up_after_its_attempts() -> None:
    step = Losing(losses=10)
    with pytest.raises(natsobj.PreconditionFailedError):
        await retry_cas(step, attempts=3)
    assert step.runs == 3


async def test_retry_cas_without_retry_runs_once() -> None:
    step = Losing(losses=1)
    with pytest.raises(natsobj.PreconditionFailedError):
        await retry_cas(step, attempts=100, retry=False)
    assert step.runs == 1


async def test_retry_cas_does_not_retry_other_errors() -> None:
    runs = 0

    async def failing() -> None:
        nonlocal runs
        runs += 1
        raise natsobj.ObjectStoreTimeoutError("no answer")

    with pytest.raises(natsobj.ObjectStoreTimeoutError):
        await retry_cas(failing, attempts=100)
    assert runs == 1


async def test_retry_cas_waits_a_jittered_doubling_time_from_the_third_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bounds: list[float] = []

    def uniform(low: float, high: float) -> float:
        assert low == 0
        bounds.append(high)
        return high / 2

    monkeypatch.setattr(random, "uniform", uniform)
    with anyio.fail_after(5):
        assert await retry_cas(Losing(losses=9), attempts=10) == 10
    # No wait before the second run; then 1, 2, 4, ... ms, capped.
    expected = [min(CAS_MAX_BACKOFF, CAS_FIRST_BACKOFF * 2**n) for n in range(8)]
    assert bounds == pytest.approx(expected)
    assert bounds[-1] == CAS_MAX_BACKOFF


@pytest.mark.parametrize("attempts", [0, -1])
async def test_retry_cas_needs_an_attempt(attempts: int) -> None:
    with pytest.raises(natsobj.InvalidArgumentError):
        await retry_cas(Losing(losses=0), attempts=attempts)


def test_a_bucket_config_makes_its_stream_config_with_the_policy() -> None:
    config = natsobj.ObjectStoreConfig(
        bucket="pics",
        description="d",
        metadata={"team": "x"},
        file_size_limit=1024,
        allowed_mime_types=["image/*"],
        replicas=3,
    )
    stream = config.stream_config()
    assert stream["name"] == "OBJ_pics"
    assert stream["subjects"] == ["$O.pics.C.>", "$O.pics.M.>"]
    assert stream["description"] == "d"
    assert stream["num_replicas"] == 3
    assert stream["metadata"]["team"] == "x"
    policy = natsobj.BucketPolicy(file_size_limit=1024, allowed_mime_types=["image/*"])
    assert policy_from_metadata(stream["metadata"]) == policy
    assert "metadata" not in natsobj.ObjectStoreConfig(bucket="plain").stream_config()
