"""Subscribe-before-send on the wire: the SUB must reach nats-server before the flush's PING."""

from __future__ import annotations

from session_client.responses import ResponseRouter
from session_client.testing import LocalStack


async def test_sub_is_written_before_the_ping_that_confirms_it(stack: LocalStack) -> None:
    router = ResponseRouter([stack.nats_url], {})
    try:
        await router.release(await router.register("sessions.responses.warm", "s", None))
        transport = router.connection._transport
        written: list[bytes] = []
        write, writelines = transport.write, transport.writelines

        def record(data: bytes) -> None:
            written.append(bytes(data))
            write(data)

        def record_lines(lines: list[bytes]) -> None:
            written.extend(bytes(line) for line in lines)
            writelines(lines)

        transport.write, transport.writelines = record, record_lines
        waiter = await router.register("sessions.responses.order", "s", None)
        wire = b"".join(written)
        # nats-py writes flush()'s PING straight to the socket: without pushing the pending
        # SUB out first, the PONG can confirm a subscription the server has not seen yet.
        assert wire.index(b"SUB sessions.responses.order ") < wire.index(b"PING")
        await router.release(waiter)
    finally:
        await router.close()
