"""Time a protected API call in the SDK against bare verification and two JOSE libraries.

Run: ``.venv/bin/python -m bench.sdk`` — prints a markdown section and writes it to
``bench/results/sdk.md``. One RS256 RFC 9068 access token, one run, four contenders:

* **bare** — the floor: split the token, base64url-decode the signature and verify it with a
  pre-loaded ``cryptography`` RSA key. No claim is read.
* **stepauth** — ``ResourceServer.verify(token, Requirement(("phr",), 300))``: JWKS cache
  hit, header, alg/kid checks, signature, claims (iss, aud, exp, sub, typ) and
  ``evaluate`` of ``acr``/``auth_time`` — everything a guarded route does per request.
* **PyJWT** — ``jwt.decode`` with the key object parsed once, ``iss``/``aud``/``exp`` checks.
* **joserfc** — ``jwt.decode`` with the key imported once plus a ``JWTClaimsRegistry``
  validation of ``iss``/``aud``/``exp``.
* **stepauth DPoP** — the same call with a DPoP-bound token (RFC 9449): the client signs a
  fresh ES256 proof (``make_proof``, with ``ath``) and the resource server runs
  ``verify_request``: the proof's checks (RFC 9449 §4.3), the token, ``cnf.jkt`` against the
  proof's key and the ``jti`` consumed in a :class:`MemoryLedger`. Client signing included.
* **stepauth DPoP, resource server alone** — ``verify_request`` on proofs signed beforehand
  (a pool, each proof used once; the resource server's clock held at their ``iat``): what
  the API pays per DPoP call, next to
* **bare ES256 verify** — one proof's signature alone (base64url, raw ``r||s`` to DER,
  ``cryptography`` with the key loaded once), and the same with the key imported from the
  proof's ``jwk`` first, as a proof verifier must (the key travels in the proof).

Goal for DPoP: the proof check (resource server alone − the bearer call) costs at most one
extra signature verification (the bare ES256 verify).

timeit on this process's CPU time (``time.process_time``: other processes' load is not
counted), best of 40 short interleaved batches: the least-disturbed runs, not averages.
"""

from __future__ import annotations

import base64
import os
import platform
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

import jwt as pyjwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jwt as jose_jwt
from joserfc.jwk import RSAKey

from stepauth.assurance import Requirement
from stepauth.encoding import b64url_decode
from stepauth.sdk import JWKSCache, ResourceServer
from stepauth.sdk.api import ResourceRequest
from stepauth.sdk.dpop import ECDPoPKey, make_proof, thumbprint
from stepauth.sdk.dpop_check import DPoPChecker
from stepauth.sdk.ledger import MemoryLedger

#: Many short interleaved batches: the best of them is the run least disturbed by the other
#: processes sharing the CPUs (timeit's own advice: the minimum, not the mean).
REPEAT = 40
RESULTS = Path(__file__).resolve().parent / "results" / "sdk.md"
ISSUER = "https://op.example.com"
API = "https://api.example.com"
#: Proofs signed ahead for the resource-server-only DPoP row: more than its timed calls
#: (autorange plus REPEAT batches) take on this machine; running out raises.
PROOF_POOL = 60_000


def _interleaved(
    contenders: list[tuple[str, Callable[[], object]]],
) -> list[tuple[str, float, int]]:
    """Best-of-``REPEAT`` per contender, the contenders' batches taking turns.

    Interleaving keeps a change of machine load (other processes) from favouring whichever
    contender happened to run in a quiet moment.
    """
    # CPU time of this process: time the other processes take on the shared CPUs is not
    # counted (wall time under load would be).
    timers = [(name, timeit.Timer(func, timer=time.process_time)) for name, func in contenders]
    numbers = [max(100, timer.autorange()[0] // 4) for _, timer in timers]
    best = [float("inf")] * len(timers)
    for _ in range(REPEAT):
        for i, (_, timer) in enumerate(timers):
            best[i] = min(best[i], timer.timeit(numbers[i]) / numbers[i])
    return [(name, best[i], numbers[i]) for i, (name, _) in enumerate(timers)]


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()} ({platform.python_implementation()})"
    )


def _dpop_setup(
    key: RSAKey, claims: dict[str, object], clock: Callable[[], float] = time.time
) -> tuple[ECDPoPKey, str, ResourceServer]:
    """An ES256 client key, an access token bound to it and a resource server requiring DPoP."""
    client_key = ECDPoPKey()
    header = {"alg": "RS256", "kid": key.kid, "typ": "at+jwt"}
    token = jose_jwt.encode(header, {**claims, "cnf": {"jkt": thumbprint(client_key)}}, key)
    rs = ResourceServer(
        issuer=ISSUER,
        audience=API,
        jwks=JWKSCache(keys={"keys": [key.as_dict(private=False)]}),
        # Every timed call consumes one jti: room for all of them within the proofs' window.
        dpop=DPoPChecker(ledger=MemoryLedger(max_items=5_000_000)),
        require_dpop=True,
        clock=clock,
    )
    return client_key, token, rs


def dpop_call(key: RSAKey, claims: dict[str, object]) -> Callable[[], object]:
    """A DPoP-bound protected API call: a fresh client proof, then ``verify_request``."""
    client_key, token, rs = _dpop_setup(key, claims)
    requirement = Requirement(("phr",), 300)
    url = f"{API}/transfers"
    authorization = f"DPoP {token}"

    def call() -> None:
        proof = make_proof(client_key, method="POST", url=url, access_token=token)
        rs.verify_request(ResourceRequest("POST", url, authorization, (proof,)), requirement)

    return call


def dpop_server_side(key: RSAKey, claims: dict[str, object]) -> Callable[[], object]:
    """``verify_request`` alone: each call takes the next of :data:`PROOF_POOL` proofs signed
    beforehand at one instant, which the resource server's clock is held at."""
    issued = time.time()
    client_key, token, rs = _dpop_setup(key, claims, clock=lambda: issued)
    requirement = Requirement(("phr",), 300)
    url = f"{API}/transfers"
    authorization = f"DPoP {token}"
    pool = iter(
        [
            make_proof(client_key, method="POST", url=url, access_token=token, now=issued)
            for _ in range(PROOF_POOL)
        ]
    )

    def call() -> None:
        proof = next(pool)
        rs.verify_request(ResourceRequest("POST", url, authorization, (proof,)), requirement)

    return call


def es256_verifies() -> tuple[Callable[[], object], Callable[[], object]]:
    """One DPoP proof's ES256 signature check: with the key loaded once, and with the key
    imported from the proof's ``jwk`` first."""
    client_key = ECDPoPKey()
    proof = make_proof(client_key, method="POST", url=f"{API}/transfers")
    jwk = dict(client_key.public_jwk)
    curve = ec.SECP256R1()

    def imported() -> ec.EllipticCurvePublicKey:
        x = int.from_bytes(b64url_decode(jwk["x"]), "big")
        y = int.from_bytes(b64url_decode(jwk["y"]), "big")
        return ec.EllipticCurvePublicNumbers(x, y, curve).public_key()

    loaded = imported()

    def verify(public: ec.EllipticCurvePublicKey) -> None:
        head, payload, sig = proof.split(".")
        raw = b64url_decode(sig)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public.verify(der, f"{head}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))

    return (lambda: verify(loaded)), (lambda: verify(imported()))


def dpop_goal(rows: list[tuple[str, float, int]]) -> list[str]:
    """The DPoP goal: the proof check adds at most one signature verification."""
    bearer, full, alone, es256, es256_import = (rows[i][1] for i in (1, 4, 5, 6, 7))
    extra = alone - bearer
    met = extra <= es256
    return [
        f"Goal for DPoP: the proof check costs at most one extra signature verification — "
        f"**{'met' if met else 'missed'}**: the resource server's DPoP call (proofs signed "
        f"beforehand) takes {alone * 1e6:.2f} µs, {extra * 1e6:.2f} µs more than the bearer "
        f"call, which is {extra / es256:.2f}× a bare ES256 verify ({es256 * 1e6:.2f} µs) and "
        f"{extra / es256_import:.2f}× one with the key imported from the proof's jwk "
        f"({es256_import * 1e6:.2f} µs). The whole DPoP call with the client's signing takes "
        f"{full * 1e6:.2f} µs ({full / bearer:.2f}× the bearer call). Besides the signature, "
        "the proof check parses the proof's header and claims, imports its jwk and computes "
        "the key's RFC 7638 thumbprint (both kept for a key seen before, in a bounded cache "
        "keyed on the members the import reads; the signature is verified every time), "
        "normalises and compares htu (normalised forms kept likewise), hashes the token for "
        "ath and records the jti in the ledger; verify_request also parses the Authorization "
        "header and matches cnf.jkt, which the bearer call does not.",
    ]


def main() -> int:
    key = RSAKey.generate_key(2048, parameters={"kid": "bench-1", "use": "sig"})
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "user-42",
        "aud": API,
        "client_id": "bench",
        "iat": now,
        "exp": now + 3600,
        "jti": "at-1",
        "scope": "openid payments",
        "acr": "phr",
        "amr": ["pop", "user", "mfa"],
        "auth_time": now - 30,
    }
    token = jose_jwt.encode({"alg": "RS256", "kid": "bench-1", "typ": "at+jwt"}, claims, key)
    public_jwk = key.as_dict(private=False)

    # bare: the signature alone, key object loaded once
    rsa_public = key.public_key
    h64, p64, s64 = token.split(".")
    signing_input = f"{h64}.{p64}".encode()

    def bare() -> None:
        head, payload, sig = token.split(".")
        signature = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
        rsa_public.verify(
            signature, f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )

    # stepauth: the full protected-call path with a warm JWKS cache
    rs = ResourceServer(issuer=ISSUER, audience=API, jwks=JWKSCache(keys={"keys": [public_jwk]}))
    requirement = Requirement(("phr",), 300)

    def stepauth() -> None:
        rs.verify(token, requirement)

    # PyJWT: decode-and-validate with the parsed key
    pyjwt_key = pyjwt.PyJWK(public_jwk).key

    def pyjwt_decode() -> None:
        pyjwt.decode(
            token,
            pyjwt_key,
            algorithms=["RS256"],
            audience=API,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )

    # joserfc: decode + claims registry with the imported key
    jose_key = RSAKey.import_key(public_jwk)
    registry = jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": API},
        exp={"essential": True},
        sub={"essential": True},
    )

    def joserfc_decode() -> None:
        decoded = jose_jwt.decode(token, jose_key, algorithms=["RS256"])
        registry.validate(decoded.claims)

    dpop = dpop_call(key, claims)
    dpop_rs = dpop_server_side(key, claims)
    es256, es256_import = es256_verifies()

    # sanity: every contender accepts the token before it is timed
    bare()
    stepauth()
    pyjwt_decode()
    joserfc_decode()
    dpop()
    dpop_rs()
    es256()
    es256_import()
    assert signing_input
    assert s64

    contenders: list[tuple[str, Callable[[], object]]] = [
        ("bare RS256 verify (cryptography)", bare),
        ("stepauth: validate access token + evaluate requirement", stepauth),
        (f"PyJWT {pyjwt.__version__} decode + validate", pyjwt_decode),
        ("joserfc decode + claims registry", joserfc_decode),
        ("stepauth DPoP: client ES256 proof + verify_request (proof, token, jkt, jti)", dpop),
        ("stepauth DPoP: verify_request alone (proofs signed beforehand)", dpop_rs),
        ("bare ES256 verify (cryptography, key loaded once)", es256),
        ("bare ES256 verify, key imported from the proof's jwk", es256_import),
    ]
    rows = _interleaved(contenders)

    floor = rows[0][1]
    ours = rows[1][1]
    lines = [
        "## SDK: protected API call (`stepauth.sdk`)",
        "",
        "Command: `.venv/bin/python -m bench.sdk` — one RS256 RFC 9068 access token (2048-bit "
        f"key), timeit on process CPU time, best of {REPEAT} short interleaved batches, "
        "time per call.",
        "",
        f"Machine: {_machine()}; load average at the end of the run "
        f"{os.getloadavg()[0]:.1f} (other processes share the CPUs: ratios move between "
        "runs, the order of the contenders does not).",
        "",
        "| contender | per call | × bare | loops × repeats |",
        "|---|---|---|---|",
    ]
    for name, best, number in rows:
        lines.append(f"| {name} | {best * 1e6:.2f} µs | {best / floor:.2f} | {number} × {REPEAT} |")
    goal_bare = ours <= 1.3 * floor
    goal_libs = ours < rows[2][1] and ours < rows[3][1]
    lines += [
        "",
        f"Goal: within 1.3× of bare verification — **{'met' if goal_bare else 'missed'}** "
        f"({ours / floor:.2f}×); faster than PyJWT and joserfc — "
        f"**{'met' if goal_libs else 'missed'}** "
        f"({rows[2][1] / ours:.2f}× and {rows[3][1] / ours:.2f}× faster).",
        "",
        *dpop_goal(rows),
        "",
        "The stepauth path does more than the libraries here (typ at+jwt, kid lookup in the "
        "cached key set, alg/kty match, acr and auth_time evaluation). It verifies the "
        "signature before decoding the claims, every call; what it prepares once is only "
        "what depends on the configuration and the protected header (allowed alg, the key "
        "for the kid and its type, typ), per key set - never a token's result. The token is "
        "split once, the signature and the claims are base64url-decoded once each, the "
        "claims are parsed by the C JSON scanner in one pass, and the requirement is "
        "decided by `unmet_reason` (the decision of `evaluate`, without building a result "
        "object) on the claims as parsed: no copies, no model objects.",
        "",
        "Times are this process's CPU time (`time.process_time`), so the other processes "
        "that share the two CPUs do not inflate one contender's batches more than "
        "another's; wall-clock best-of runs under that load moved the stepauth/bare ratio "
        "between 0.9× and 2.2× from run to run.",
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
