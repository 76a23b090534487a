"""The standard ID Token checks of the black-box Provider tests (OIDC Core §3.1.3.7)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from joserfc import jwt

if TYPE_CHECKING:
    from tests.helpers.harness import Provider


async def check_id_token(
    provider: Provider,
    id_token: str,
    *,
    client_id: str,
    nonce: str | None,
    requested_acr: list[str] | None = None,
) -> dict[str, Any]:
    """The standard ID Token checks every OP test runs (``PerformStandardIdTokenChecks``).

    OIDC Core §3.1.3.7: signature with a published key, ``iss`` exact, ``aud`` contains the
    client, ``exp`` in the future, ``iat`` present, ``auth_time`` not in the future and not
    older than a year, ``acr`` not empty, ``sub`` present, ``nonce`` equal to the request's;
    and (§5.5.1.1) when ``acr`` values were requested as essential, ``acr`` is one of them.
    """
    keys = await provider.jwks()
    token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "EdDSA"])
    assert token.header.get("kid"), "ID Token header has no kid"
    claims = dict(token.claims)
    now = provider.clock()
    assert claims["iss"] == provider.issuer
    aud = claims["aud"]
    assert client_id == aud or (isinstance(aud, list) and client_id in aud)
    if isinstance(aud, list) and len(aud) > 1:
        assert claims.get("azp") == client_id
    assert isinstance(claims["exp"], int)
    assert claims["exp"] > now
    assert isinstance(claims["iat"], int)
    assert claims["iat"] <= now + 300
    assert isinstance(claims.get("sub"), str)
    assert claims["sub"]
    if "auth_time" in claims:
        assert isinstance(claims["auth_time"], int)
        assert now - 365 * 86400 <= claims["auth_time"] <= now + 300
    if "acr" in claims:
        assert isinstance(claims["acr"], str)
        assert claims["acr"] != ""
    if nonce is not None:
        assert claims.get("nonce") == nonce
    else:
        assert "nonce" not in claims
    if requested_acr is not None:
        assert claims.get("acr") in requested_acr, claims.get("acr")
    return claims
