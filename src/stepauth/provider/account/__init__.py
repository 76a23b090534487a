"""The account security page ``/account`` (issue 4 §6, ASVS 5.0 7.5.1).

Signed-in users see their factors with their last use, add a passkey, a security key,
an authenticator app or a new set of recovery codes, and rename or remove a factor.
Every change needs a fresh factor first (:mod:`stepauth.provider.account.fresh`) and is
notified out of band. :data:`routes` is mounted by :func:`stepauth.provider.app.create_app`.
"""

from __future__ import annotations

from stepauth.provider.account.routes import routes

__all__ = ["routes"]
