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
from cryptography.hazmat.primitives.asymmetric import padding
from joserfc import jwt as jose_jwt
from joserfc.jwk import RSAKey

from stepauth.assurance import Requirement
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


def dpop_call(key: RSAKey, claims: dict[str, object]) -> Callable[[], object]:
    """A DPoP-bound protected API call: a fresh client proof, then ``verify_request``."""
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
    )
    requirement = Requirement(("phr",), 300)
    url = f"{API}/transfers"
    authorization = f"DPoP {token}"

    def call() -> None:
        proof = make_proof(client_key, method="POST", url=url, access_token=token)
        rs.verify_request(ResourceRequest("POST", url, authorization, (proof,)), requirement)

    return call


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

    # sanity: every contender accepts the token before it is timed
    bare()
    stepauth()
    pyjwt_decode()
    joserfc_decode()
    dpop()
    assert signing_input
    assert s64

    contenders: list[tuple[str, Callable[[], object]]] = [
        ("bare RS256 verify (cryptography)", bare),
        ("stepauth: validate access token + evaluate requirement", stepauth),
        (f"PyJWT {pyjwt.__version__} decode + validate", pyjwt_decode),
        ("joserfc decode + claims registry", joserfc_decode),
        ("stepauth DPoP: client ES256 proof + verify_request (proof, token, jkt, jti)", dpop),
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
