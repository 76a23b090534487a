"""The root of every error stepauth raises.

Each error carries a machine ``error`` code (an OAuth / OIDC error code where one
exists) and a human ``description``. Subsystems subclass it::

    StepAuthError                      error="stepauth_error"
    ├── AssuranceError                 stepauth.assurance: bad events, ladders, requirements
    │   ├── InvalidLadder              error="invalid_ladder"
    │   ├── InvalidRequirement         error="invalid_requirement"
    │   └── InvalidChallenge           error="invalid_challenge"   (RFC 9470 header parsing)
    ├── ProviderError                  stepauth.provider.errors: OAuth errors, status, redirectable
    ├── SDKError                       stepauth.sdk.errors: token validation and step-up outcomes
    ├── PolicyError                    stepauth.policy.errors: policy file and decision errors
    ├── RARError                       stepauth.rar.errors: authorization details (RFC 9396)
    ├── FactorError                    stepauth.provider.factors: verifier failures
    │   ├── WebAuthnError, AttestationError, TotpError, RecoveryError, OobError
    ├── StoreError                     stepauth.store: storage failures
    └── ConfigError                    configuration files and values

Every public function raises a subclass of :class:`StepAuthError`, never a bare
``ValueError``.
"""

from __future__ import annotations

from os import PathLike

__all__ = ["ConfigError", "FactorError", "StepAuthError"]


class StepAuthError(Exception):
    """Root of the stepauth error tree; ``error`` is a stable machine code."""

    error: str = "stepauth_error"

    def __init__(self, description: str = "", *, error: str | None = None) -> None:
        super().__init__(description or self.error)
        if error is not None:
            self.error = error
        self.description = description

    def __repr__(self) -> str:
        return f"{type(self).__name__}(error={self.error!r}, description={self.description!r})"


class ConfigError(StepAuthError):
    """A configuration file or value is wrong; ``key`` names the offending setting and
    ``file`` (when known) the file it is in."""

    error = "invalid_config"

    def __init__(
        self, description: str, *, key: str | None = None, file: str | None = None
    ) -> None:
        message = f"{key}: {description}" if key else description
        super().__init__(f"{message} (in {file})" if file else message)
        self.key = key
        self.file = file
        self.reason = description

    def in_file(self, path: str | PathLike[str]) -> ConfigError:
        """This error, naming the file the offending key is in."""
        return ConfigError(self.reason, key=self.key, file=str(path))


class FactorError(StepAuthError):
    """A factor verifier refused a submission; subclasses name the failed step."""

    error = "factor_rejected"
