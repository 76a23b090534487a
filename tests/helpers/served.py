"""ASGI apps served over real HTTP: uvicorn on a free port in a background thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn

from tests.conftest import free_port

__all__ = ["ServedApp", "serve"]


class ServedApp:
    """An ASGI app served by uvicorn on a free port in a background thread (real HTTP)."""

    def __init__(self, app: Any, *, port: int | None = None, lifespan: str = "auto") -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, lifespan=lifespan, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self._thread.is_alive(), "uvicorn stopped during startup"
            if time.monotonic() > deadline:
                self.server.should_exit = True
                raise AssertionError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)


@pytest.fixture
def serve() -> Iterator[Callable[[Any], ServedApp]]:
    """``serve(app)`` serves ``app`` until the test ends."""
    served: list[ServedApp] = []

    def start(app: Any) -> ServedApp:
        served.append(ServedApp(app))
        return served[-1]

    yield start
    for s in served:
        s.stop()
