"""Fixtures for the black-box Provider tests."""

from tests.conformance.harness import provider

__all__ = ["provider"]
