"""stepauth.provider: a step-up-aware OpenID Provider.

``create_app(config, *, store=None, clock=time.time)`` builds the ASGI application.
"""

from stepauth.provider.app import create_app

__all__ = ["create_app"]
