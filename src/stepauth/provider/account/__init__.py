"""The account security page ``/account`` (ASVS 5.0 7.5.1, NIST SP 800-63B-4 §6.1.2.1).

Signed-in users see their factors with their last use, add a passkey, a security key,
an authenticator app or a new set of recovery codes, and rename or remove a factor.
Every change needs a step-up at the account's binding level first
(:mod:`stepauth.provider.account.binding`) and is notified out of band with a "this
wasn't me" link (:mod:`stepauth.provider.account.not_me`). :data:`routes` is mounted by
:func:`stepauth.provider.app.create_app`.
"""

from __future__ import annotations

from stepauth.provider.account.routes import routes

__all__ = ["routes"]
