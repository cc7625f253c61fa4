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
