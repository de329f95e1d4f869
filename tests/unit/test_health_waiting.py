"""A service that starts without its broker and store: the readiness state, and a real service
app (calls) on addresses where nothing listens, served at once and stopped at once."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from shared.errors import Unavailable
from shared.http import Readiness, problem_answer
from tests.support.infra import auth, offline_app, serve

IN_SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")


def test_a_new_readiness_waits_for_what_it_was_given() -> None:
    readiness = Readiness("store", "broker")
    assert readiness.waiting_for == ["store", "broker"]
    assert not readiness.ready
    assert not readiness.serves_requests()


def test_the_routes_serve_once_the_store_is_up_even_while_the_broker_is_away() -> None:
    readiness = Readiness("store", "broker")
    readiness.done("store")
    assert readiness.waiting_for == ["broker"]
    assert readiness.serves_requests()
    assert not readiness.ready
    readiness.refuse_while_starting("calls")  # does not raise


def test_a_dependency_lost_again_while_starting_is_named_again_once() -> None:
    readiness = Readiness("store", "broker")
    readiness.done("broker")
    readiness.waiting("broker")
    readiness.waiting("broker")
    assert readiness.waiting_for == ["store", "broker"]


def test_started_is_ready_and_waits_for_nothing() -> None:
    readiness = Readiness("store", "broker")
    readiness.started()
    assert readiness.ready
    assert readiness.waiting_for == []
    assert readiness.serves_requests()


def test_a_request_before_the_store_is_up_is_refused_with_503_and_retry_after() -> None:
    readiness = Readiness("store", "broker")
    with pytest.raises(Unavailable) as refused:
        readiness.refuse_while_starting("calls")
    answer = problem_answer(refused.value)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert refused.value.reason == "starting"
    assert "waits for store, broker" in str(refused.value.detail)


@IN_SESSION_LOOP
async def test_wait_returns_once_started() -> None:
    readiness = Readiness("store", "broker")
    waiter = asyncio.create_task(readiness.wait())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    readiness.started()
    async with asyncio.timeout(1):
        await waiter


@IN_SESSION_LOOP
async def test_a_service_without_broker_and_store_serves_at_once_and_says_what_it_waits_for() -> (
    None
):
    app = offline_app("calls")  # broker 127.0.0.1:1, store 127.0.0.1:1: nothing listens
    entered = time.monotonic()
    async with serve(app, started=False) as client:
        live = await client.get("/health/live")
        assert time.monotonic() - entered < 2
        ready = await client.get("/health/ready")
        command = await client.post("/calls", json={}, headers=auth("state"))
        query = await client.get("/calls/PF-2008", headers=auth("operator"))
        metrics = await client.get("/metrics")
        asyncapi = await client.get("/asyncapi.json")
        closing = time.monotonic()
    assert time.monotonic() - closing < 3, "shutdown while waiting must be prompt"
    assert live.status_code == 200
    assert live.json() == {"status": "live"}
    assert ready.status_code == 503
    assert ready.headers["Retry-After"] == "5"
    assert ready.json() == {"status": "starting", "waiting_for": ["store", "broker"]}
    for refused in (command, query):
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == "5"
        assert refused.json()["reason"] == "starting"
        assert "calls is starting: it waits for store, broker" in refused.json()["detail"]
    assert metrics.status_code == 200
    assert asyncapi.status_code == 200


@IN_SESSION_LOOP
async def test_a_start_step_that_never_answers_is_tried_again_not_waited_on_for_ever(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.calls.settings import CallsSettings
    from shared import service

    monkeypatch.setattr(service, "ATTEMPT_SECONDS", 0.05)
    monkeypatch.setattr(service, "FIRST_RETRY_SECONDS", 0.01)
    runtime = service.build_runtime(
        CallsSettings(
            auth_secret="unused-secret-long-enough-for-hs256-signing",
            kafka_bootstrap="127.0.0.1:1",
            mongo_url="mongodb://127.0.0.1:1",
        )
    )
    tries = 0

    async def hangs_twice() -> None:
        nonlocal tries
        tries += 1
        if tries < 3:
            await asyncio.Event().wait()

    await asyncio.wait_for(runtime._retry("store", "a ping that hangs", hangs_twice), 5)
    assert tries == 3
    assert runtime.readiness.waiting_for == ["store", "broker"]
    await runtime.mongo.close()


@IN_SESSION_LOOP
async def test_a_startup_step_slower_than_an_attempt_runs_once_to_its_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a busy store a startup step takes long but progresses: it is not cut off and started
    again (its statements are bounded by the store's socket timeout)."""
    from services.calls.settings import CallsSettings
    from shared import service

    runtime = service.build_runtime(
        CallsSettings(
            auth_secret="unused-secret-long-enough-for-hs256-signing",
            kafka_bootstrap="127.0.0.1:1",
            mongo_url="mongodb://127.0.0.1:1",
        )
    )
    runs: list[str] = []

    async def answers() -> None:
        pass

    async def slow_step() -> None:
        runs.append("began")
        await asyncio.sleep(0.3)
        runs.append("ended")

    monkeypatch.setattr(runtime, "_ping_store", answers)
    monkeypatch.setattr(service, "ATTEMPT_SECONDS", 0.05)  # a ping's bound, shorter than the step
    runtime.startup = [slow_step]
    await asyncio.wait_for(runtime._prepare_store(), 5)
    assert runs == ["began", "ended"]
    assert "store" not in runtime.readiness.waiting_for
    await runtime.mongo.close()


@IN_SESSION_LOOP
async def test_a_background_job_stops_even_when_its_step_swallows_the_cancellation() -> None:
    from shared.service import every

    started = asyncio.Event()

    async def swallows() -> None:
        started.set()
        with contextlib.suppress(asyncio.CancelledError):  # as a library that goes on
            await asyncio.sleep(10)

    job = asyncio.create_task(every(0.01, swallows, "a job")())
    await started.wait()
    job.cancel()
    await asyncio.wait([job], timeout=2)
    assert job.cancelled(), "the job went on after its step swallowed the cancellation"
