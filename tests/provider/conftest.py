"""Fixtures of the Provider tests: the black-box harness's running Provider, one with the
bank client (``bank``), the Provider served by uvicorn for a real browser, and a dev
outbox for the notices (``outbox_path``)."""

from tests.helpers.bank import bank
from tests.helpers.browser_provider import served
from tests.helpers.harness import outbox_path, provider

__all__ = ["bank", "outbox_path", "provider", "served"]
