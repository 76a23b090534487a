"""A DPoP proof's ``jti`` is single use across Provider instances that share one Redis.

Two Providers, each on its own SQLite database, keep their ephemeral items (``dpop_jti``
among them) in the same Redis under this test's own prefix: a proof accepted by one is a
replay at the other (RFC 9449 §11.1). The real Redis at 127.0.0.1:6379.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stepauth.provider.dpop import JTI_KIND
from stepauth.store.routed import EPHEMERAL_KINDS
from tests.helpers.client_side import DPoPKey
from tests.helpers.harness import CONFIDENTIAL
from tests.provider.dpop_proofs import (
    assert_error,
    bogus_code_grant,
    post_token,
)
from tests.reliability.providers import provider_on

pytestmark = pytest.mark.redis


def test_dpop_jti_is_kept_in_redis() -> None:
    assert JTI_KIND in EPHEMERAL_KINDS


async def test_proof_replayed_at_another_instance_is_refused(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix}
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    async with (
        provider_on(tmp_path / "one", **shared) as one,
        provider_on(tmp_path / "two", **shared) as two,
    ):
        proof = DPoPKey().proof(now=one.clock())
        first = await post_token(one, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL)
        assert_error(first, 400, "invalid_grant")  # the proof passed; its jti is now used
        replay = await post_token(two, bogus_code_grant(), proof=proof, client_id=CONFIDENTIAL)
        assert_error(replay, 400, "invalid_dpop_proof")
        assert "already used" in replay.json()["error_description"]
