"""Rich Authorization Requests (RFC 9396) for transaction-bound step-up.

Pure functions, no I/O:

- :class:`Registry` / :data:`default_registry`: the authorization-details types and their
  schemas (data, extensible by configuration); ``registry.validate(details)`` implements
  RFC 9396 §5 and raises :class:`InvalidAuthorizationDetails`.
- :func:`canonical_json`: RFC 8785 JCS.
- :func:`transaction_challenge`: ``SHA-256(nonce ‖ canonical_json(details))``, the WebAuthn
  challenge for PSD2 dynamic linking (RTS Art. 5).
- :func:`match_details`: type-aware "the action is exactly what was approved"; raises
  :class:`DetailsMismatch` naming the difference.
- :func:`render_summary`: label/value rows for the step-up page (what you see is what you sign).
"""

from __future__ import annotations

from stepauth.rar.challenge import transaction_challenge
from stepauth.rar.errors import DetailsMismatch, InvalidAuthorizationDetails, RARError
from stepauth.rar.jcs import canonical_json
from stepauth.rar.match import match_details
from stepauth.rar.registry import Registry, default_registry
from stepauth.rar.schema import Field, TypeSchema
from stepauth.rar.summary import (
    SummaryWording,
    format_iban,
    format_money,
    render_summary,
    visible_text,
)
from stepauth.rar.values import mask_iban, normalise_iban

__all__ = [
    "DetailsMismatch",
    "Field",
    "InvalidAuthorizationDetails",
    "RARError",
    "Registry",
    "SummaryWording",
    "TypeSchema",
    "canonical_json",
    "default_registry",
    "format_iban",
    "format_money",
    "mask_iban",
    "match_details",
    "normalise_iban",
    "render_summary",
    "transaction_challenge",
    "visible_text",
]
