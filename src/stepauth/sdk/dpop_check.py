"""DPoP proofs at the resource server: RFC 9449 §4.3 checks, the replay cache and nonces.

:func:`check_proof` runs the steps of RFC 9449 §4.3 in order, one error per step, all
:class:`~stepauth.sdk.errors.InvalidDPoPProof` (``invalid_dpop_proof``, §7.1) but a missing
or stale server nonce, :class:`~stepauth.sdk.errors.UseDPoPNonce` (``use_dpop_nonce``, §9).
It is pure (no I/O), the one implementation of these steps: :meth:`DPoPChecker.check`
(step 1 on the header values, then this) and the Provider's token, PAR and userinfo
endpoints both call it:

1. exactly one ``DPoP`` header; 2. a well-formed compact JWS; 4. ``typ`` is ``dpop+jwt``;
5. ``alg`` an allowed asymmetric algorithm (never ``none`` nor ``HS*``: the one
:class:`~stepauth.sdk.jose.Verifier` has neither); 7. ``jwk`` a public key, no private
member, an RSA modulus of at least 2048 bits (RFC 7518 §3.3); 6. the signature verifies
with that ``jwk``; 3. the required claims, of their types (read only once the signature
holds); 8. ``htm`` is the request's method; 9. ``htu`` the request's URI without query and
fragment, both normalised (:func:`~stepauth.sdk.dpop.normalize_htu`); 10. the server's nonce
when it requires one; 11. ``iat`` within ``window`` seconds (``leeway`` for clock skew);
12. ``ath`` the hash of the access token presented with it (§7.1).

Nothing is recorded by :meth:`~DPoPChecker.check`. Once the access token is valid and bound
to the proof's key, :meth:`~DPoPChecker.consume` records ``jti`` in the SDK's consume-once
ledger (:mod:`stepauth.sdk.ledger`: memory, SQL or Redis; one atomic ``add``), under
``dpop:<jkt>:<SHA-256 of jti>``, until the proof could no longer be accepted anyway (``iat`` +
``window`` + ``leeway``): a replay within the window is refused (§11.1), across processes
when the ledger is shared.

Server nonces (:class:`DPoPNonces`) are stateless: a nonce is its issue time and an
HMAC-SHA256 of it under the server's secret, accepted for ``lifetime`` seconds by every
instance holding the same secret. Nothing is stored; the ``jti`` ledger stops replays.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import inspect
import math
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from stepauth.encoding import b64url_decode, b64url_encode
from stepauth.sdk.dpop import DPOP_ALGS, DPOP_TYP, access_token_hash, normalize_htu
from stepauth.sdk.errors import (
    InvalidDPoPProof,
    InvalidToken,
    JWKSError,
    MalformedToken,
    SDKError,
    UseDPoPNonce,
)
from stepauth.sdk.jose import KeySet, PublicKey, Verifier, jwk_thumbprint, parse_header
from stepauth.sdk.ledger import AnyLedger, consume
from stepauth.sdk.validate import check_asymmetric, same

__all__ = [
    "GOT",
    "MIN_RSA_BITS",
    "CheckedProof",
    "DPoPChecker",
    "DPoPNonces",
    "ServerNonces",
    "check_proof",
    "split_dpop_headers",
]

#: JWK members that belong to a private or symmetric key (RFC 7518 §6.2.2, §6.3.2, §6.4).
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_JTI_MAX_LENGTH: Final = 256
#: The shortest RSA modulus accepted in a proof's jwk (RFC 7518 §3.3).
MIN_RSA_BITS: Final = 2048
_NONCE_CONTEXT: Final = b"stepauth dpop nonce "


def split_dpop_headers(values: Iterable[str]) -> tuple[str, ...]:
    """Every proof of the ``DPoP`` header lines: a server may join repeated header lines
    with commas (RFC 9110 §5.3), which a compact JWS never contains."""
    return tuple(p.strip() for v in values for p in v.split(",") if p.strip())


@dataclass(frozen=True, slots=True)
class CheckedProof:
    """A proof that passed :func:`check_proof`: its key's thumbprint, its ``jti`` and when
    a replay of it could no longer be accepted."""

    jkt: str
    jti: str
    expires_at: float
    #: The proof's public key and its (signed) claims.
    jwk: Mapping[str, Any] = field(default_factory=dict)
    claims: Mapping[str, Any] = field(default_factory=dict)


class DPoPNonces:
    """Stateless server-issued nonces (RFC 9449 §9): issue time + HMAC-SHA256 under ``secret``.

    ``secret`` (32 bytes or more; random per instance when omitted) must be shared by every
    instance that should accept the others' nonces. A nonce is good ``lifetime`` seconds.
    """

    def __init__(
        self,
        secret: bytes | None = None,
        *,
        lifetime: float = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if secret is not None and len(secret) < 32:
            raise SDKError("a DPoP nonce secret needs at least 32 bytes")
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self.lifetime = lifetime
        self.clock = clock

    def _mac(self, issued: bytes) -> bytes:
        return hmac.new(self._secret, _NONCE_CONTEXT + issued, hashlib.sha256).digest()[:16]

    def issue(self) -> str:
        issued = int(self.clock()).to_bytes(8, "big")
        return b64url_encode(issued + self._mac(issued))

    def valid(self, nonce: object) -> bool:
        if not isinstance(nonce, str) or len(nonce) > 64:
            return False
        try:
            raw = b64url_decode(nonce)
        except ValueError:
            return False
        if len(raw) != 24 or not hmac.compare_digest(raw[8:], self._mac(raw[:8])):
            return False
        age = self.clock() - int.from_bytes(raw[:8], "big")
        return -1 <= age <= self.lifetime


def _finite_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


#: Where a refusal's description quotes the value the proof sent: a server that answers
#: with the description (the Provider) cuts it there, so no sender's value is echoed.
GOT: Final = " (got "


def _got(value: object) -> str:
    return f"{GOT}{value!r})"


class ServerNonces(Protocol):
    """Where a server's DPoP nonces come from: :class:`DPoPNonces` here, the Provider's
    sealed nonces there (RFC 9449 §8, §9)."""

    def valid(self, nonce: object) -> bool: ...

    def issue(self) -> str: ...


#: The JWK members an imported proof key and its RFC 7638 thumbprint are made of (RFC 7638
#: §3.2 for each kty, plus the ``alg`` a key may be restricted to), then the header's ``kid``.
_KEY_MEMBERS: Final = ("kty", "crv", "x", "y", "e", "n", "alg")
#: Imported proof keys kept (least recently used dropped first): a client's key comes back in
#: every proof it signs, while a flood of fresh keys only evicts, never grows the cache.
_KEY_CACHE_MAX: Final = 256
_STR_OR_NONE: Final = frozenset({str, type(None)})


def _import_key(jwk: Mapping[str, Any], kid: str | None) -> tuple[KeySet, str | None]:
    # Step 7: the jwk as a usable public key, of RSA at least MIN_RSA_BITS; with its
    # thumbprint (None when it has none: refused after the claims' checks, step order kept).
    try:
        key = PublicKey.from_jwk({**jwk, "kid": kid})
    except JWKSError as exc:
        raise InvalidDPoPProof("the proof's jwk is not a usable public key") from exc
    # RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used" with RS256 and PS256
    # (RFC 9449 §11.6: only algorithms, and so keys, deemed secure).
    if key.kty == "RSA" and key.key.key_size < MIN_RSA_BITS:
        raise InvalidDPoPProof(f"the proof's RSA key is shorter than {MIN_RSA_BITS} bits")
    try:
        jkt: str | None = jwk_thumbprint(jwk)
    except JWKSError:
        jkt = None
    return KeySet.of([key]), jkt


@functools.lru_cache(maxsize=_KEY_CACHE_MAX)
def _imported_key(members: tuple[str | None, ...]) -> tuple[KeySet, str | None]:
    """:func:`_import_key` memoised on exactly the members it reads (``_KEY_MEMBERS``, then
    the ``kid``), so a hit is what importing would give; a refused key raises and is never
    kept. The proof's signature is still verified with the key, every time."""
    *values, kid = members
    jwk = {name: v for name, v in zip(_KEY_MEMBERS, values, strict=True) if v is not None}
    return _import_key(jwk, kid)


#: The normalised form of an htu (the proofs' and the requests' URLs repeat): memoised on the
#: exact string, bounded; a URL that does not normalise raises and is never kept.
_normalized_htu: Final = functools.lru_cache(maxsize=_KEY_CACHE_MAX)(normalize_htu)


def _proof_key(header: Mapping[str, Any]) -> tuple[Mapping[str, Any], KeySet, str | None]:
    # Step 7: a public JWK, never one with private (or symmetric) members.
    jwk = header.get("jwk")
    if not isinstance(jwk, Mapping):
        raise InvalidDPoPProof("the proof's header carries no jwk")
    if not _PRIVATE_MEMBERS.isdisjoint(jwk) or jwk.get("kty") == "oct":
        raise InvalidDPoPProof("the proof's jwk holds a private key")
    kid = header.get("kid")
    members = (*map(jwk.get, _KEY_MEMBERS), kid if isinstance(kid, str) else None)
    if _STR_OR_NONE.issuperset(map(type, members)):
        return jwk, *_imported_key(members)
    # A member of another JSON type (refused, or ignored by its kty): imported, not kept.
    return jwk, *_import_key(jwk, members[-1])


def check_proof(
    proof: str,
    *,
    verifier: Verifier,
    expected_htm: str,
    expected_htu: str,
    access_token: str | None,
    now: float,
    max_age: float,
    leeway: float,
    nonces: ServerNonces | None = None,
) -> CheckedProof:
    """The steps of RFC 9449 §4.3 (and §7.1 ``ath``) for one proof, in order, with no I/O:
    the one implementation the resource server (:class:`DPoPChecker`) and the Provider
    share. ``iat`` may be ``max_age`` seconds old and ``leeway`` seconds ahead; the proof's
    ``jti`` is left to the caller's consume-once store. Raises :class:`InvalidDPoPProof`,
    :class:`UseDPoPNonce`, or :class:`MalformedToken` for a non-ASCII access token."""
    # Step 2: a well-formed compact JWS.
    try:
        header = parse_header(proof)[0]
    except MalformedToken as exc:
        raise InvalidDPoPProof("the DPoP proof is not a compact JWS") from exc
    # Step 4: typ; step 5: an allowed asymmetric alg.
    if (header.typ or "").lower() != DPOP_TYP:
        raise InvalidDPoPProof(f"typ is not {DPOP_TYP}{_got(header.typ)}")
    if header.alg not in verifier.algs:
        raise InvalidDPoPProof(f"alg is not accepted for DPoP proofs{_got(header.alg)}")
    jwk, keys, jkt = _proof_key(header.raw)
    # Step 6: the signature, with the jwk of the header.
    try:
        _, claims = verifier.verify(proof, keys)
    except InvalidToken as exc:
        raise InvalidDPoPProof("the DPoP proof's signature does not verify") from exc
    # Step 3: the required claims (RFC 9449 §4.2), now that they are signed.
    jti, htm, htu = claims.get("jti"), claims.get("htm"), claims.get("htu")
    iat = _finite_number(claims.get("iat"))
    if not isinstance(jti, str) or not 0 < len(jti) <= _JTI_MAX_LENGTH:
        raise InvalidDPoPProof("jti is missing or malformed")
    if not isinstance(htm, str) or not isinstance(htu, str) or iat is None:
        raise InvalidDPoPProof("htm, htu and iat are required")
    # Step 8: the method; step 9: the target URI without query and fragment.
    if htm != expected_htm:
        raise InvalidDPoPProof(f"htm is not the request's method{_got(htm)}")
    try:
        matches = same(_normalized_htu(htu), _normalized_htu(expected_htu))
    except ValueError as exc:
        raise InvalidDPoPProof("htu is not an absolute http(s) URI") from exc
    if not matches:
        raise InvalidDPoPProof("htu is not the request's URI")
    # Step 10: the server's nonce, when it requires one.
    if nonces is not None and not nonces.valid(claims.get("nonce")):
        raise UseDPoPNonce("a fresh server nonce is required", nonce=nonces.issue())
    # Step 11: created within the window.
    if iat > now + leeway:
        raise InvalidDPoPProof("iat is in the future")
    if iat < now - max_age:
        raise InvalidDPoPProof("iat is older than the accepted window")
    # Step 12 (§7.1): the hash of the access token presented with the proof.
    if access_token is not None:
        try:
            expected = access_token_hash(access_token)
        except UnicodeEncodeError as exc:
            raise MalformedToken("the access token is not ASCII") from exc
        ath = claims.get("ath")
        if not isinstance(ath, str) or not same(ath, expected):
            raise InvalidDPoPProof("ath is missing or not the access token's hash")
    if jkt is None:
        raise InvalidDPoPProof("the proof's jwk has no thumbprint")
    return CheckedProof(jkt, jti, iat + max_age + 1, dict(jwk), claims)


class DPoPChecker:
    """RFC 9449 §4.3 for one resource server: allowed ``algs``, the ``iat`` ``window`` (and
    ``leeway`` for clock skew), the ``jti`` ``ledger`` and, when given, server ``nonces``."""

    def __init__(
        self,
        *,
        ledger: AnyLedger,
        algs: Sequence[str] = DPOP_ALGS,
        window: float = 60,
        leeway: float = 5,
        nonces: DPoPNonces | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_asymmetric(tuple(algs))
        self._verifier = Verifier(algs)
        #: The allowed algorithms, announced in ``algs`` of a DPoP challenge (§7.1).
        self.algs = tuple(a for a in algs if a in self._verifier.algs)
        if not self.algs:
            raise SDKError("a DPoP checker needs at least one asymmetric algorithm")
        self.ledger = ledger
        self.window = window
        self.leeway = leeway
        self.nonces = nonces
        self.clock = clock

    def check(
        self,
        proofs: Sequence[str],
        *,
        method: str,
        url: str,
        access_token: str | None,
        now: float | None = None,
    ) -> CheckedProof:
        """The steps of RFC 9449 §4.3 (and §7.1 ``ath``) for the ``DPoP`` header values of
        one request (:func:`check_proof`); raises :class:`InvalidDPoPProof` or
        :class:`UseDPoPNonce`."""
        # Step 1: exactly one DPoP header.
        if len(proofs) != 1:
            raise InvalidDPoPProof(f"{len(proofs)} DPoP proofs: exactly one is required")
        return check_proof(
            proofs[0],
            verifier=self._verifier,
            expected_htm=method,
            expected_htu=url,
            access_token=access_token,
            now=self.clock() if now is None else now,
            max_age=self.window + self.leeway,
            leeway=self.leeway,
            nonces=self.nonces,
        )

    @staticmethod
    def _ledger_key(checked: CheckedProof) -> str:
        # Per key: a jti is the client's choice, unique for its own proofs (§4.2). Hashed,
        # so that any jti fits the ledgers' keys (the SQL column holds 256 characters).
        digest = b64url_encode(
            hashlib.sha256(checked.jti.encode("utf-8", "surrogatepass")).digest()
        )
        return f"dpop:{checked.jkt}:{digest}"

    def consume(self, checked: CheckedProof) -> None:
        """Record the proof's ``jti`` once (sync ledger); a replay is ``invalid_dpop_proof``."""
        won = self.ledger.consume(self._ledger_key(checked), expires_at=checked.expires_at)
        if inspect.isawaitable(won):
            if inspect.iscoroutine(won):
                won.close()
            raise SDKError("an async ledger records DPoP proofs for async code only")
        if won is not True:
            raise InvalidDPoPProof("the DPoP proof was used before (jti replayed)")

    async def aconsume(self, checked: CheckedProof) -> None:
        """:meth:`consume` from async code, with a sync or an async ledger."""
        key = self._ledger_key(checked)
        if not await consume(self.ledger, key, expires_at=checked.expires_at):
            raise InvalidDPoPProof("the DPoP proof was used before (jti replayed)")
