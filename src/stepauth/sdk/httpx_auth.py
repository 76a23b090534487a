"""``StepUpAuth``: an :class:`httpx.Auth` that answers RFC 9470 challenges (§2, §4).

One generator (:meth:`StepUpAuth._flow`) holds the logic for both clients: send the request
with the current token; on ``401`` with ``error="insufficient_user_authentication"`` parse
the challenge, ask the application's ``step_up`` callback for a token that meets it, and
retry **once**. A second 401 is returned to the caller as is: no loop.

The callback may be a plain function or a coroutine function; with :class:`httpx.Client`
it must be plain. Following RFC 9470 §2 the original token is kept; the stepped-up token is used
for the retry and, with ``remember=True``, for later requests to the same URL path.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any

import httpx

from stepauth.assurance import Challenge, InvalidChallenge, parse_challenges
from stepauth.sdk.errors import SDKError

__all__ = ["StepUpAuth", "find_step_up_challenge"]

StepUpCallback = Callable[[Challenge], "str | Awaitable[str]"]


@dataclass(frozen=True)
class _NeedToken:
    challenge: Challenge


def find_step_up_challenge(response: httpx.Response) -> Challenge | None:
    """The ``insufficient_user_authentication`` Bearer challenge of a 401, if any."""
    if response.status_code != 401:
        return None
    for value in response.headers.get_list("www-authenticate"):
        try:
            challenges = parse_challenges(value)
        except InvalidChallenge:
            continue
        for challenge in challenges:
            if (
                challenge.scheme.lower() in ("bearer", "dpop")
                and challenge.error == "insufficient_user_authentication"
            ):
                return challenge
    return None


def _key(request: httpx.Request) -> tuple[str, str, str]:
    return (request.url.scheme, request.url.host, request.url.path)


class StepUpAuth(httpx.Auth):
    """Bearer auth that steps up once per request when the resource server asks for it."""

    def __init__(
        self, token: str, step_up: Callable[[Challenge], Any], *, remember: bool = False
    ) -> None:
        self.token = token
        self.step_up = step_up
        self.remember = remember
        self._stepped_up: dict[tuple[str, str, str], str] = {}

    def _flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request | _NeedToken, httpx.Response | str, None]:
        token = self._stepped_up.get(_key(request), self.token)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        assert isinstance(response, httpx.Response)
        challenge = find_step_up_challenge(response)
        if challenge is None:
            return
        new_token = yield _NeedToken(challenge)
        if not isinstance(new_token, str) or not new_token:
            raise SDKError("the step-up callback did not return an access token")
        if self.remember:
            self._stepped_up[_key(request)] = new_token
        request.headers["Authorization"] = f"Bearer {new_token}"
        yield request  # the one retry; its response goes back to the caller as is

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        flow = self._flow(request)
        step = next(flow)
        while True:
            if isinstance(step, _NeedToken):
                token = self.step_up(step.challenge)
                if inspect.isawaitable(token):
                    if inspect.iscoroutine(token):
                        token.close()
                    raise SDKError("an async step-up callback needs httpx.AsyncClient")
                reply: httpx.Response | str = token
            else:
                reply = yield step
            try:
                step = flow.send(reply)
            except StopIteration:
                return

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self._flow(request)
        step = next(flow)
        while True:
            if isinstance(step, _NeedToken):
                token = self.step_up(step.challenge)
                if inspect.isawaitable(token):
                    token = await token
                reply: httpx.Response | str = token
            else:
                reply = yield step
            try:
                step = flow.send(reply)
            except StopIteration:
                return
