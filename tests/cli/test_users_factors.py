"""``stepauth users add-totp|factors|remove-factor|unlock`` through ``stepauth.cli.main``."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from stepauth.cli import main
from stepauth.provider.config import ThrottleConfig
from stepauth.provider.factors import totp
from stepauth.provider.notices import OutboxSender, read_outbox
from tests.cli.stored import store_call

RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # RFC 6238 Appendix B seed, base32

#: The Provider's default limits, as a configured Provider has them.
CONFIG = SimpleNamespace(throttle=ThrottleConfig())


pytestmark = pytest.mark.usefixtures("environment", "with_alice")


@pytest.fixture(autouse=True)
def outbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Account notices go to a per-test dev outbox."""
    monkeypatch.setenv("STEPAUTH_OUTBOX", str(tmp_path / "outbox.jsonl"))


def _factors(config: Path) -> list[Any]:
    async def work(store: Any) -> list[Any]:
        user = await store.get_user_by_username("alice")
        return list(await store.list_factors(user.id))

    return list(store_call(config, work))


def test_add_totp_with_given_secret(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["users", "add-totp", "alice", "--secret", RFC_SECRET, "--config", str(config)])
    assert code == 0
    out = capsys.readouterr().out
    uri = out.splitlines()[1]
    assert uri.startswith("otpauth://totp/")
    assert parse_qs(urlsplit(uri).query)["secret"] == [RFC_SECRET]
    (factor,) = _factors(config)
    assert factor.kind == "totp"
    assert factor.data["secret"] == RFC_SECRET
    params = totp.TotpParams.from_data(dict(factor.data))
    assert totp.totp(params, 59) == "287082"  # RFC 6238 Appendix B, SHA-1, 6 digits
    assert "authenticator app was added" in read_outbox()[-1]["message"]
    assert "/account/not-me?token=" in read_outbox()[-1]["message"]


def test_add_totp_generates_a_secret(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "add-totp", "alice", "--config", str(config)]) == 0
    (factor,) = _factors(config)
    assert len(factor.data["secret"]) >= 32  # ≥ 160 bits
    assert factor.data["secret"] in capsys.readouterr().out


def test_add_totp_refuses_a_bad_secret(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["users", "add-totp", "alice", "--secret", "SHORT", "--config", str(config)])
    assert code == 2
    assert "secret" in capsys.readouterr().err
    assert _factors(config) == []


def test_unknown_user(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "factors", "nobody", "--config", str(config)]) == 2
    assert "no user named" in capsys.readouterr().err


def test_factors_lists_and_remove_factor_removes(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["users", "add-totp", "alice", "--label", "Phone", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["users", "factors", "alice", "--config", str(config)]) == 0
    listing = capsys.readouterr().out
    (factor,) = _factors(config)
    assert factor.id in listing
    assert "totp\tPhone\tactive" in listing
    assert "last used never" in listing
    assert main(["users", "remove-factor", "alice", factor.id, "--config", str(config)]) == 0
    assert _factors(config) == []
    assert main(["users", "remove-factor", "alice", factor.id, "--config", str(config)]) == 2

    async def audit(store: Any) -> list[dict[str, Any]]:
        return list(await store.tail_audit(10))

    actions = [e.get("action") for e in store_call(config, audit)]
    assert actions == ["add", "remove"]


def test_unlock_clears_the_lockout(config: Path) -> None:
    async def block(store: Any) -> str:
        user = await store.get_user_by_username("alice")
        for _ in range(5):
            await store.record_failure(user.id, "totp", now=1.0)
        await store.set_blocked_until(user.id, "totp", 1e12)
        await store.set_blocked_until(user.id, "password", 1e12)
        return str(user.id)

    user_id = store_call(config, block)
    assert main(["users", "unlock", "alice", "--config", str(config)]) == 0

    async def state(store: Any) -> list[Any]:
        return [await store.failure_state(user_id, t) for t in ("totp", "password")]

    for failure in store_call(config, state):
        assert failure.count == 0
        assert failure.blocked_until is None


def test_unlock_lifts_a_permanent_block_made_by_the_totp_plugin(config: Path) -> None:
    """NIST SP 800-63B-4 §3.2.2 / PSD2 RTS Art. 4(3)(b): after every temporary block the next series
    is permanent; only ``stepauth users unlock NAME`` lifts
    it, then the right code verifies again."""
    from types import SimpleNamespace

    from stepauth.provider import throttle
    from stepauth.provider.factors.base import Attempt, FactorRejected

    params = totp.TotpParams(secret=RFC_SECRET)
    now = 1_800_000_000.0

    async def attempt(store: Any, code: str, at: float) -> Any:
        user = await store.get_user_by_username("alice")
        try:
            return await totp.plugin.verify(
                Attempt(
                    state=SimpleNamespace(sender=OutboxSender(), store=store, config=CONFIG),  # type: ignore[arg-type]
                    form={"code": code},
                    user=user,
                    factors=await store.list_factors(user.id),
                    now=at,
                    interaction_id="cli-unlock",
                )
            )
        except FactorRejected as exc:
            return exc

    async def block(store: Any) -> float:
        user = await store.get_user_by_username("alice")
        await store.add_factor(user.id, "totp", params.to_data(), label="phone", now=now)
        at = now
        for series in range(len(throttle.BLOCK_DELAYS) + 1):
            if series:
                state = await store.failure_state(user.id, "totp")
                at = float(state.blocked_until) + 1
            for _ in range(throttle.MAX_FAILURES):
                wrong = "000000" if totp.totp(params, at) != "000000" else "111111"
                assert isinstance(await attempt(store, wrong, at), FactorRejected)
        state = await store.failure_state(user.id, "totp")
        assert state.blocked_until == throttle.PERMANENT
        at += 30 * 86400
        refused = await attempt(store, totp.totp(params, at), at)
        assert isinstance(refused, FactorRejected)
        assert refused.locked
        return at

    at = store_call(config, block)
    assert main(["users", "unlock", "alice", "--config", str(config)]) == 0

    async def verify(store: Any) -> Any:
        return await attempt(store, totp.totp(params, at + 30), at + 30)

    verified = store_call(config, verify)
    assert not isinstance(verified, FactorRejected)
    assert verified.event.methods == ("otp",)


def test_confirm_factor_ends_a_hold(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``confirm-factor``: a factor on hold (added during recovery) counts in full after
    the operator's confirmation; one not on hold, or another user's, is an error."""
    import time

    from stepauth.provider.factors.hold import hold_data, is_held

    async def add_held(store: Any) -> str:
        user = await store.get_user_by_username("alice")
        hold = hold_data(until=time.time() + 3600, acr="urn:stepauth:acr:2fa", reason="recovery")
        factor = await store.add_factor(
            user.id, "totp", {"secret": RFC_SECRET, **hold}, label="new phone", now=time.time()
        )
        return str(factor.id)

    factor_id = store_call(config, add_held)
    assert main(["users", "factors", "alice", "--config", str(config)]) == 0
    assert "on hold until" in capsys.readouterr().out
    assert main(["users", "confirm-factor", "alice", "nope", "--config", str(config)]) == 2
    assert main(["users", "confirm-factor", "alice", factor_id, "--config", str(config)]) == 0
    assert "no longer on hold" in capsys.readouterr().out
    (factor,) = _factors(config)
    assert not is_held(factor, time.time())
    assert "hold_until" not in factor.data
    assert factor.data["secret"] == RFC_SECRET
    assert "confirmed a sign-in method" in read_outbox()[-1]["message"]
    assert "/account/not-me?token=" in read_outbox()[-1]["message"]
    assert main(["users", "confirm-factor", "alice", factor_id, "--config", str(config)]) == 2
    assert "is not on hold" in capsys.readouterr().err
