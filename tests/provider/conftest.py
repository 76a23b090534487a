"""Fixtures of the Provider tests: the black-box harness's running Provider, one with the
bank client (``bank``), and the Provider served by uvicorn for a real browser."""

from tests.helpers.bank import bank
from tests.helpers.browser_provider import served
from tests.helpers.harness import provider

__all__ = ["bank", "provider", "served"]
