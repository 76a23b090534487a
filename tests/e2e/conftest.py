"""Fixtures of the browser journeys: the Provider served by uvicorn."""

from tests.helpers.browser_provider import served

__all__ = ["served"]
