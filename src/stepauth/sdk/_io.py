"""Drive a sans-I/O flow with a sync or an async httpx client (one code path).

A flow is a generator that yields the :class:`httpx.Request` it needs and receives the
:class:`httpx.Response` (or ``None`` when the transport failed) until it returns its result,
the same shape as :meth:`httpx.Auth.auth_flow`.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TypeVar

import httpx

__all__ = ["Flow", "run_async", "run_sync"]

T = TypeVar("T")
Flow = Generator[httpx.Request, httpx.Response | None, T]


def run_sync(flow: Flow[T], client: httpx.Client) -> T:
    try:
        request = next(flow)
        while True:
            try:
                sent = client.send(request)
                sent.read()
                response: httpx.Response | None = sent
            except httpx.HTTPError:
                response = None
            request = flow.send(response)
    except StopIteration as stop:
        result: T = stop.value
        return result


async def run_async(flow: Flow[T], client: httpx.AsyncClient) -> T:
    try:
        request = next(flow)
        while True:
            try:
                sent = await client.send(request)
                await sent.aread()
                response: httpx.Response | None = sent
            except httpx.HTTPError:
                response = None
            request = flow.send(response)
    except StopIteration as stop:
        result: T = stop.value
        return result
