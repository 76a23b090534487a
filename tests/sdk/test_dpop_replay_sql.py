"""DPoP ``jti`` replay across resource-server instances sharing a PostgreSQL ledger
(RFC 9449 §11.1): the real server on 127.0.0.1:5432, a fresh database per test."""

from __future__ import annotations

import pytest

from stepauth.sdk.errors import InvalidDPoPProof
from stepauth.sdk.sql_ledger import SyncSQLLedger
from tests.sdk.conftest import NOW, Keys
from tests.sdk.dpop_flow import PHR, bound_token, client_key, dpop_request, proof, resource_server

pytestmark = pytest.mark.postgres


def test_replayed_jti_is_rejected_by_another_instance_sharing_postgresql(
    postgres_url: str, keys: Keys
) -> None:
    """The longest jti accepted (256 characters) fits the ledger's key: it is hashed."""
    first_ledger = SyncSQLLedger.from_url(postgres_url, clock=lambda: NOW)
    first_ledger.create_schema()
    second_ledger = SyncSQLLedger.from_url(postgres_url, clock=lambda: NOW)
    try:
        key = client_key()
        token = bound_token(keys, key.thumbprint())
        first = resource_server(keys, ledger=first_ledger)
        second = resource_server(keys, ledger=second_ledger)
        once = proof(key, token=token, jti="j" * 256)
        assert first.verify_request(dpop_request(token, once), PHR)["sub"] == "user-42"
        with pytest.raises(InvalidDPoPProof, match="jti replayed"):
            second.verify_request(dpop_request(token, once), PHR)
        with pytest.raises(InvalidDPoPProof, match="jti is missing or malformed"):
            first.verify_request(dpop_request(token, proof(key, token=token, jti="j" * 257)), PHR)
    finally:
        first_ledger.close()
        second_ledger.close()
