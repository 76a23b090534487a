"""``stepauth serve`` writes each response as one socket write (``CoalescedTransport``)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn

from stepauth.cli.serve import CoalescedTransport, http_protocol
from tests.conftest import free_port


class Recorder:
    """A transport that records what reaches it (the socket end of the wrapper)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


def _wrapped() -> tuple[CoalescedTransport, Recorder]:
    recorder = Recorder()
    return CoalescedTransport(recorder, asyncio.get_running_loop()), recorder  # type: ignore[arg-type]


async def test_writes_of_one_step_leave_as_one_write_in_order() -> None:
    transport, recorder = _wrapped()
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"")
    transport.write(b"body")
    assert recorder.writes == []
    await asyncio.sleep(0)
    assert recorder.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    transport.write(b"next")
    await asyncio.sleep(0)
    assert recorder.writes[1:] == [b"next"]


async def test_close_writes_pending_bytes_first_then_nothing_more() -> None:
    transport, recorder = _wrapped()
    transport.write(b"last response")
    transport.close()
    assert recorder.writes == [b"last response"]
    assert recorder.closed
    transport.write(b"after close")
    await asyncio.sleep(0)
    assert recorder.writes == [b"last response"]


async def test_other_attributes_are_the_wrapped_transports() -> None:
    transport, recorder = _wrapped()
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
    assert transport.is_closing() is False
    recorder.closed = True
    assert transport.is_closing() is True


async def _app(scope: Any, receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    body = b"x" * 300
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Counting:
    """Forwards to the socket's transport, counting the writes that reach it."""

    def __init__(self, transport: Any, writes: list[bytes]) -> None:
        self._transport = transport
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


async def test_uvicorn_writes_status_headers_and_body_once_per_response() -> None:
    """Over a real keep-alive connection, each response reaches the socket in ONE write."""
    writes: list[bytes] = []
    base: Any = http_protocol()

    class Protocol(base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: Any) -> None:
            super().connection_made(Counting(transport, writes))

    port = free_port()
    config = uvicorn.Config(
        _app, host="127.0.0.1", port=port, http=Protocol, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(1000):  # until uvicorn listens
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started
        loop = asyncio.get_running_loop()
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.setblocking(False)
            for _ in range(3):
                await loop.sock_sendall(sock, b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
                received = b""
                while not received.endswith(b"x" * 300):
                    chunk = await loop.sock_recv(sock, 65536)
                    assert chunk, "connection closed early"
                    received += chunk
                head, _, body = received.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200")
                assert body == b"x" * 300
    finally:
        server.should_exit = True
        await task
    assert len(writes) == 3
    assert all(w.startswith(b"HTTP/1.1 200") and w.endswith(b"x" * 300) for w in writes)
