"""Acme Bank, the stepauth demo: a FastAPI bank protected by the public SDK and policy.

``stepauth demo`` (:mod:`stepauth.cli.demo`) runs it next to the Provider; the bank itself
imports only :mod:`stepauth.sdk`, :mod:`stepauth.policy` and the display helpers of
:mod:`stepauth.rar`.
"""

from stepauth.demo.app import DEFAULT_POLICY, BankSettings, create_app

__all__ = ["DEFAULT_POLICY", "BankSettings", "create_app"]
