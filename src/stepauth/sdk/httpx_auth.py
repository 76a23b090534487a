"""``StepUpAuth``: an :class:`httpx.Auth` that answers RFC 9470 challenges (§2, §4).

One generator (:meth:`StepUpAuth._flow`) holds the logic for both clients: send the request
with the current token; on ``401`` with ``error="insufficient_user_authentication"`` parse
the challenge, ask the application's ``step_up`` callback for a token that meets it, and
retry **once**. A second 401 is returned to the caller as is: no loop.

The callback may be a plain function or a coroutine function; with :class:`httpx.Client`
it must be plain. Following RFC 9470 §2 the original token is kept; the stepped-up token is used
for the retry and, with ``remember=True``, for later requests to the same URL path.

With ``dpop=`` a :class:`~stepauth.sdk.dpop.DPoPSigner`, every request carries
``Authorization: DPoP <token>`` and a fresh proof with ``ath`` (RFC 9449 §7.1). A ``401``
``use_dpop_nonce`` with a ``DPoP-Nonce`` (§9) is answered by one new proof carrying that
nonce - once per request sent, so a server that keeps asking gets no loop; the nonce is
kept for the origin's later requests.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any

import httpx

from stepauth.assurance import Challenge, InvalidChallenge, parse_challenges
from stepauth.sdk.dpop import DPoPSigner
from stepauth.sdk.errors import SDKError

__all__ = ["StepUpAuth", "find_step_up_challenge"]

StepUpCallback = Callable[[Challenge], "str | Awaitable[str]"]


@dataclass(frozen=True)
class _NeedToken:
    challenge: Challenge


def find_step_up_challenge(response: httpx.Response) -> Challenge | None:
    """The ``insufficient_user_authentication`` challenge of a 401 (``Bearer`` or ``DPoP``)."""
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
    """Bearer (or DPoP) auth that steps up once per request when the resource server asks."""

    def __init__(
        self,
        token: str,
        step_up: Callable[[Challenge], Any],
        *,
        remember: bool = False,
        dpop: DPoPSigner | None = None,
    ) -> None:
        self.token = token
        self.step_up = step_up
        self.remember = remember
        self.dpop = dpop
        self._stepped_up: dict[tuple[str, str, str], str] = {}

    def _send(
        self, request: httpx.Request, token: str
    ) -> Generator[httpx.Request | _NeedToken, httpx.Response | str, httpx.Response]:
        """Send ``request`` with ``token``; with DPoP, once more on ``use_dpop_nonce``."""
        dpop = self.dpop
        if dpop is None:
            request.headers["Authorization"] = f"Bearer {token}"
        else:
            dpop.sign(request, access_token=token)
        response = yield request
        assert isinstance(response, httpx.Response)
        if dpop is not None and dpop.should_retry(response):
            dpop.sign(request, access_token=token)  # the new nonce, in a new proof: once
            response = yield request
            assert isinstance(response, httpx.Response)
            dpop.remember(response)
        return response

    def _flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request | _NeedToken, httpx.Response | str, None]:
        token = self._stepped_up.get(_key(request), self.token)
        response = yield from self._send(request, token)
        challenge = find_step_up_challenge(response)
        if challenge is None:
            return
        new_token = yield _NeedToken(challenge)
        if not isinstance(new_token, str) or not new_token:
            raise SDKError("the step-up callback did not return an access token")
        if self.remember:
            self._stepped_up[_key(request)] = new_token
        yield from self._send(request, new_token)  # the one retry; its answer goes back as is

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
