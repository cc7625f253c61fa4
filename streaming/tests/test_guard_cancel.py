"""A worker that stops mid-event finishes the event first: nothing recorded goes unsent."""

import asyncio

from streaming.disposition import to_completion


async def test_a_cancelled_handler_still_finishes_its_send() -> None:
    steps: list[str] = []
    writing = asyncio.Event()

    async def handler() -> None:
        steps.append("state written")
        writing.set()
        await asyncio.sleep(0.05)  # the send to the producer's buffer, in flight
        steps.append("sent")

    agent = asyncio.ensure_future(to_completion(handler()))
    await writing.wait()
    agent.cancel()  # what Faust does to agents when the worker stops

    try:
        await agent
    except asyncio.CancelledError:
        pass
    else:
        raise AssertionError("the cancellation must still reach the agent")
    assert steps == ["state written", "sent"]


async def test_a_handler_that_never_suspends_runs_in_the_callers_task() -> None:
    tasks: list[asyncio.Task[object] | None] = []

    async def handler() -> None:
        tasks.append(asyncio.current_task())

    before = len(asyncio.all_tasks())
    await to_completion(handler())
    assert tasks == [asyncio.current_task()]
    assert len(asyncio.all_tasks()) == before


async def test_failures_propagate_whether_the_handler_suspends_or_not() -> None:
    async def at_once() -> None:
        raise KeyError("at once")

    async def later() -> None:
        await asyncio.sleep(0)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(fut.set_exception, ValueError("from a future"))
        await fut  # the exception of an awaited future reaches the handler

    for handler, kind in ((at_once, KeyError), (later, ValueError)):
        try:
            await to_completion(handler())
        except kind:
            pass
        else:
            raise AssertionError(f"{kind.__name__} must reach the guard")


async def test_a_suspended_handler_gets_its_result_and_its_own_exceptions() -> None:
    steps: list[object] = []

    async def handler() -> None:
        await asyncio.sleep(0)  # a bare yield
        steps.append(await asyncio.sleep(0.01, result="slept"))
        try:
            await asyncio.wait_for(asyncio.Event().wait(), 0.01)
        except TimeoutError:
            steps.append("timed out")

    await to_completion(handler())
    assert steps == ["slept", "timed out"]
