"""Fixtures for the black-box Provider tests: every conformance test runs on both databases."""

import pytest

from tests.helpers.harness import Provider, provider_on_each_db

__all__ = ["provider", "provider_on_each_db"]


@pytest.fixture
def provider(provider_on_each_db: Provider) -> Provider:
    return provider_on_each_db
