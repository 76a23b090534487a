"""Interaction pages (sign-in and step-up) of the Provider; see :mod:`.routes`."""

from stepauth.provider.interaction.routes import routes

__all__ = ["routes"]
