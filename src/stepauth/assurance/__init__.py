"""The assurance core: one vocabulary for the Provider, the SDK and the Policy.

No I/O and no framework imports (docs/concepts.md explains the model):

* :mod:`~stepauth.assurance.methods` — the RFC 8176 ``amr`` registry and factor categories;
* :mod:`~stepauth.assurance.events` — :class:`AuthEvent`, one verified factor;
* :mod:`~stepauth.assurance.levels` — the ordered, data-driven ladder of ``acr`` values;
* :mod:`~stepauth.assurance.assessment` — :func:`assess`: which ``acr`` a session meets,
  its ``amr`` and ``auth_time``, and what is missing;
* :mod:`~stepauth.assurance.binding` — an account's binding level and the step-up that
  changes its authenticators (NIST SP 800-63B-4 §6.1.2.1);
* :mod:`~stepauth.assurance.requirement` — :func:`evaluate` token claims per action;
* :mod:`~stepauth.assurance.challenge` — RFC 9470 ``WWW-Authenticate`` build and parse;
* :mod:`~stepauth.assurance.errors` — the :class:`AssuranceError` tree.
"""

from stepauth.assurance.assessment import Assessment, Need, assess
from stepauth.assurance.binding import (
    BINDING_MAX_AGE,
    binding_level,
    binding_step_up,
    recovery_step_up,
)
from stepauth.assurance.challenge import (
    INSUFFICIENT_USER_AUTHENTICATION,
    Challenge,
    build_challenge,
    parse_challenges,
)
from stepauth.assurance.errors import (
    AssuranceError,
    InvalidChallenge,
    InvalidEvent,
    InvalidLadder,
    InvalidRequirement,
)
from stepauth.assurance.events import AuthEvent
from stepauth.assurance.levels import (
    DEFAULT_LADDER,
    Clause,
    Ladder,
    Level,
    Rule,
    default_ladder_data,
    ladder_from_data,
)
from stepauth.assurance.methods import METHODS, Category, Method
from stepauth.assurance.requirement import REASONS, Requirement, Satisfied, StepUp, evaluate

__all__ = [
    "BINDING_MAX_AGE",
    "DEFAULT_LADDER",
    "INSUFFICIENT_USER_AUTHENTICATION",
    "METHODS",
    "REASONS",
    "Assessment",
    "AssuranceError",
    "AuthEvent",
    "Category",
    "Challenge",
    "Clause",
    "InvalidChallenge",
    "InvalidEvent",
    "InvalidLadder",
    "InvalidRequirement",
    "Ladder",
    "Level",
    "Method",
    "Need",
    "Requirement",
    "Rule",
    "Satisfied",
    "StepUp",
    "assess",
    "binding_level",
    "binding_step_up",
    "build_challenge",
    "default_ladder_data",
    "evaluate",
    "ladder_from_data",
    "parse_challenges",
    "recovery_step_up",
]
