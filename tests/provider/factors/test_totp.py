"""TOTP verifier: RFC 6238 Appendix B, RFC 4226 Appendix D,
window and replay (RFC 6238 §4.2, §5.2).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from stepauth.provider.factors import totp as totp_mod
from stepauth.provider.factors.totp import (
    InvalidTotpCode,
    InvalidTotpParams,
    ReplayedTotpCode,
    TotpParams,
    claim_step_in,
    generate_secret,
    hotp,
    provisioning_uri,
    qr_svg,
    verify_totp,
)
from tests.provider.factors.conftest import StepCounter

# RFC 6238 Appendix B: the SHA-256/512 rows use 32- and 64-byte seeds, not the 20-byte one of the
# prose.
SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238_APPENDIX_B = [
    (59, "SHA1", "94287082"),
    (59, "SHA256", "46119246"),
    (59, "SHA512", "90693936"),
    (1111111109, "SHA1", "07081804"),
    (1111111109, "SHA256", "68084774"),
    (1111111109, "SHA512", "25091201"),
    (1111111111, "SHA1", "14050471"),
    (1111111111, "SHA256", "67062674"),
    (1111111111, "SHA512", "99943326"),
    (1234567890, "SHA1", "89005924"),
    (1234567890, "SHA256", "91819424"),
    (1234567890, "SHA512", "93441116"),
    (2000000000, "SHA1", "69279037"),
    (2000000000, "SHA256", "90698825"),
    (2000000000, "SHA512", "38618901"),
    (20000000000, "SHA1", "65353130"),
    (20000000000, "SHA256", "77737706"),
    (20000000000, "SHA512", "47863826"),
]
RFC4226_APPENDIX_D = [
    "755224", "287082", "359152", "969429", "338314",
    "254676", "287922", "162583", "399871", "520489",
]  # fmt: skip


def params_for(algorithm: str, digits: int = 8) -> TotpParams:
    secret = base64.b32encode(SEEDS[algorithm]).decode().rstrip("=")
    return TotpParams(secret=secret, digits=digits, algorithm=algorithm)


def test_sha1_seed_base32_matches_the_rfc_text() -> None:
    """RFC 6238 Appendix B: Base32 of the SHA1 seed is GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ."""
    assert params_for("SHA1").secret == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.mark.parametrize(("now", "algorithm", "expected"), RFC6238_APPENDIX_B)
def test_rfc6238_appendix_b(now: int, algorithm: str, expected: str) -> None:
    """: every Appendix B row, 8 digits, X = 30, T0 = 0."""
    assert totp_mod.totp(params_for(algorithm), now) == expected


@pytest.mark.parametrize(("now", "algorithm", "expected"), RFC6238_APPENDIX_B)
def test_six_digit_code_is_the_last_six_digits(now: int, algorithm: str, expected: str) -> None:
    """RFC 6238 Appendix B: a 6-digit code is the last 6 digits (T=1234567890 SHA1 -> 005924)."""
    assert totp_mod.totp(params_for(algorithm, digits=6), now) == expected[-6:]


@pytest.mark.parametrize(("count", "expected"), list(enumerate(RFC4226_APPENDIX_D)))
def test_rfc4226_appendix_d(count: int, expected: str) -> None:
    """RFC 4226 Appendix D: HOTP values for counts 0..9 of the ASCII secret."""
    assert hotp(SEEDS["SHA1"], count) == expected


@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256", "SHA512"])
async def test_appendix_b_codes_verify_and_record_their_step(algorithm: str) -> None:
    counter = StepCounter()
    event = await verify_totp(
        code="07081804"
        if algorithm == "SHA1"
        else totp_mod.totp(params_for(algorithm), 1111111109),
        params=params_for(algorithm),
        claim_step=counter.claim,
        now=1111111109,
    )
    assert event.methods == ("otp",)
    assert event.attrs["factor"] == "totp"
    assert event.attrs["time_step"] == 0x023523EC == counter.last
    assert not event.phishing_resistant


@pytest.mark.parametrize("offset", [-1, 1])
async def test_adjacent_steps_are_accepted(offset: int) -> None:
    """RFC 6238 §5.2: T-1 and T+1 (one step of network delay / drift)."""
    params = params_for("SHA1", digits=6)
    now = 1234567890.0
    code = totp_mod.totp(params, now + 30 * offset)
    event = await verify_totp(code=code, params=params, claim_step=StepCounter().claim, now=now)
    assert event.attrs["time_step"] == int(now // 30) + offset


@pytest.mark.parametrize("offset", [-2, 2, 10])
async def test_codes_outside_the_window_are_rejected(offset: int) -> None:
    """RFC 6238 §5.2: never more than one step either way."""
    params = params_for("SHA1", digits=6)
    now = 1234567890.0
    code = totp_mod.totp(params, now + 30 * offset)
    with pytest.raises(InvalidTotpCode):
        await verify_totp(code=code, params=params, claim_step=StepCounter().claim, now=now)


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
async def test_malformed_codes_are_rejected(code: str) -> None:
    with pytest.raises(InvalidTotpCode):
        await verify_totp(
            code=code, params=params_for("SHA1", 6), claim_step=StepCounter().claim, now=59
        )


async def test_replayed_totp_code_in_the_same_step_is_rejected() -> None:
    """RFC 6238 §5.2 / NIST SP 800-63B-4 §3.1.4, §3.1.5:
    the same code twice while valid -> second refused.
    """
    params = params_for("SHA1", digits=6)
    counter = StepCounter()
    code = totp_mod.totp(params, 1000.0)
    await verify_totp(code=code, params=params, claim_step=counter.claim, now=1000.0)
    with pytest.raises(ReplayedTotpCode):
        await verify_totp(code=code, params=params, claim_step=counter.claim, now=1005.0)


async def test_older_totp_code_after_a_newer_one_is_rejected() -> None:
    """RFC 6238 §5.2: after step T+1 was used, the (still in-window) code of T is refused."""
    params = params_for("SHA1", digits=6)
    counter = StepCounter()
    newer = totp_mod.totp(params, 1030.0)
    older = totp_mod.totp(params, 1000.0)
    await verify_totp(code=newer, params=params, claim_step=counter.claim, now=1005.0)
    with pytest.raises(ReplayedTotpCode):
        await verify_totp(code=older, params=params, claim_step=counter.claim, now=1006.0)


async def test_replay_protection_with_the_real_store(store: Any) -> None:
    """RFC 6238 §5.2 through Store.advance_counter: same step and older step both refused."""
    user = await store.create_user("alice", None)
    params = TotpParams(secret=generate_secret())
    factor = await store.add_factor(user.id, "totp", params.to_data(), label="phone", now=1000.0)
    claim = claim_step_in(store, factor.id)
    newer = totp_mod.totp(params, 1030.0)
    older = totp_mod.totp(params, 1000.0)
    event = await verify_totp(code=newer, params=params, claim_step=claim, now=1010.0)
    assert event.attrs["time_step"] == 1030 // 30
    with pytest.raises(ReplayedTotpCode):
        await verify_totp(code=newer, params=params, claim_step=claim, now=1011.0)
    with pytest.raises(ReplayedTotpCode):
        await verify_totp(code=older, params=params, claim_step=claim, now=1012.0)


@pytest.mark.parametrize(("algorithm", "size"), [("SHA1", 20), ("SHA256", 32), ("SHA512", 64)])
def test_generated_secrets_have_at_least_160_bits(algorithm: str, size: int) -> None:
    """RFC 4226 §4 (R6); RFC 6238 §4.2, §5.2: random, >= 160 bits, as long as the HMAC output."""
    secret = generate_secret(algorithm=algorithm)
    raw = base64.b32decode(secret + "=" * (-len(secret) % 8))
    assert len(raw) == size
    assert generate_secret(algorithm=algorithm) != secret


def test_weak_parameters_are_refused() -> None:
    with pytest.raises(InvalidTotpParams):
        TotpParams(secret="GEZDGNBV")  # 40 bits
    with pytest.raises(InvalidTotpParams):
        TotpParams(secret=generate_secret(), digits=5)
    with pytest.raises(InvalidTotpParams):
        TotpParams(secret=generate_secret(), algorithm="MD5")


def test_provisioning_uri_and_qr_code() -> None:
    params = TotpParams(secret=generate_secret(algorithm="SHA256"), digits=8, algorithm="SHA256")
    uri = provisioning_uri(params, account_name="alice@example.org", issuer="Acme Bank")
    assert uri.startswith("otpauth://totp/Acme%20Bank:alice%40example.org?")
    assert f"secret={params.secret}" in uri
    assert "digits=8" in uri
    assert "algorithm=SHA256" in uri
    assert "issuer=Acme%20Bank" in uri
    svg = qr_svg(uri)
    assert svg.startswith("<svg")
    assert "<path" in svg
    assert "<script" not in svg
