"""stepauth: step-up authentication for Python.

Three parts share one vocabulary (``stepauth.assurance``): an OpenID Provider
(``stepauth.provider``), an SDK for apps and APIs (``stepauth.sdk``) and an action
policy (``stepauth.policy``).
"""

from stepauth.errors import StepAuthError

__all__ = ["StepAuthError", "__version__"]

__version__ = "0.1.0"
