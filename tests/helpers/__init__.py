"""Helpers shared by test packages: no tests here, only the tools they drive."""
