"""Fixtures of the Provider tests: the black-box harness's running Provider, and the
Provider served by uvicorn for a real browser."""

from tests.helpers.browser_provider import served
from tests.helpers.harness import provider

__all__ = ["provider", "served"]
