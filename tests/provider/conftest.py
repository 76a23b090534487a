"""Fixtures of the Provider tests: the black-box harness's running Provider."""

from tests.helpers.harness import provider

__all__ = ["provider"]
