"""The factor plug-in interface: how a kind of authenticator joins the step-up page.

A :class:`FactorPlugin` describes one *kind* of factor (``"password"``, ``"totp"``,
``"webauthn"``, ``"recovery"``, ``"oob"``) to the interaction pages:

``kind``
    the ``Factor.kind`` it verifies (the store's factor records of a user).
``capability``
    a :class:`Capability`: the factor categories one verification proves and whether the
    event is phishing-resistant / hardware-bound / multi-factor. The login policy compares
    it with the :class:`stepauth.assurance.Need` values that ``assess()`` reports as missing,
    so the page offers **only** factors that can help (:func:`helps`).
``is_enrolled(user, factors)``
    whether the user has registered this kind (an enabled ``Factor`` record, or for the
    password the user's ``password_hash``).
``capability_for(factors)``
    optional: the capability of *this user's* enrolled factors of the kind, when it can be
    more than ``capability`` (WebAuthn: hardware-bound only with a trusted, device-bound
    key). Read it through :func:`capability_of`.
``identifies``
    ``True`` when the factor can also tell *who* the user is (password with username,
    discoverable passkeys); such a factor is offered when nobody is signed in yet.
``fields(view)``
    the form fields to render (:class:`FormField`; labels are shown, never placeholders
    only; ``type="hidden"`` fields carry no label). ``scripts`` lists extra static scripts
    (``/static/...``), never inline code. An optional ``button`` class attribute names
    the submit button (default **Continue**; WebAuthn: **Use passkey**).
``binds``
    optional, ``True`` for a factor whose verification can be bound to the interaction's
    ``authorization_details`` (WebAuthn: the challenge is derived from them).
``verify(attempt)``
    checks a submitted form (``attempt.form``) for ``attempt.user`` (or identifies the user
    when ``attempt.user`` is ``None`` and ``identifies`` is set) and returns a
    :class:`Verified` carrying the :class:`stepauth.assurance.AuthEvent` to append to the
    session (and, for a transaction-bound approval, the ``txn`` of the stored record).
    It raises :class:`FactorRejected` with a message safe to show: never whether a
    username exists, never which of several factors failed (PSD2 RTS Art. 4(3)(a)).

:class:`RecordFactor` is the shared base of the plug-ins whose enrolment is a ``Factor``
record of their kind (TOTP, OOB codes, recovery codes): a possession factor that does
not identify the user, with :meth:`RecordFactor.enrolled_factors` for the attempt's
user and :func:`code_field` for the **One-time code** input.

Plug-ins are listed in a :class:`FactorRegistry`; ``default_factors()`` returns the ones
found in :data:`FACTOR_MODULES` (each module defines a module-level ``plugin``);
``registry.enrolled(user, factors)`` keeps those the user has registered.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from stepauth.assurance import Category
from stepauth.errors import FactorError
from stepauth.provider.i18n import N_

if TYPE_CHECKING:
    from stepauth.assurance import AuthEvent, Need
    from stepauth.provider.state import ProviderState
    from stepauth.store import Factor, User

__all__ = [
    "FACTOR_MODULES",
    "NOTICE_NAMES",
    "Attempt",
    "Capability",
    "FactorPlugin",
    "FactorRegistry",
    "FactorRejected",
    "FormField",
    "FormView",
    "RecordFactor",
    "Verified",
    "capability_of",
    "code_field",
    "default_factors",
    "helps",
    "notice_name",
    "numeric_code",
    "provides",
    "useful",
]


class FactorRejected(FactorError):
    """A submission did not verify; ``description`` is safe to show to the user.

    ``user_id`` names the account the failure was counted against (for the audit log,
    never shown), ``locked`` that the factor type is blocked for that account.
    """

    def __init__(
        self, description: str = "", *, locked: bool = False, user_id: str | None = None
    ) -> None:
        super().__init__(description or N_("We could not verify that. Please try again."))
        self.locked = locked
        self.user_id = user_id


@dataclass(frozen=True)
class Capability:
    """What one verification of a factor kind proves (NIST 800-63B §2, PSD2 Art. 4(30))."""

    categories: frozenset[Category]
    phishing_resistant: bool = False
    hardware_bound: bool = False
    multi_factor: bool = False


#: How a factor is named in notices and on pages ("A passkey was added…"), by its kind or,
#: for WebAuthn, its ``data["type"]``.
NOTICE_NAMES = {
    "passkey": N_("passkey"),
    "security-key": N_("security key"),
    "webauthn": N_("passkey"),
    "totp": N_("authenticator app"),
    "recovery": N_("set of recovery codes"),
    "oob": N_("phone number"),
    "password": N_("password"),
}


def notice_name(factor: Factor) -> str:
    """The words for ``factor`` in a notice (``passkey``, ``security key``…)."""
    return NOTICE_NAMES.get(str(factor.data.get("type", factor.kind)), N_("sign-in method"))


def provides(capability: Capability, need: Need) -> bool:
    """Is one event with ``capability`` the authenticator ``need`` asks for (its flags)?"""
    return (
        (capability.phishing_resistant or not need.phishing_resistant)
        and (capability.hardware_bound or not need.hardware_bound)
        and (capability.multi_factor or not need.multi_factor)
    )


def helps(capability: Capability, need: Need) -> bool:
    """Does an event with ``capability`` make progress towards ``need``?

    A :class:`~stepauth.assurance.Need` asks for factors covering ``categories`` and, when
    a flag is set, one authenticator with every flagged property. A factor helps when it
    is that authenticator or brings a still-missing category; a password never helps a
    phishing-resistant need with no category missing.
    """
    wants_authenticator = need.phishing_resistant or need.hardware_bound or need.multi_factor
    if wants_authenticator and provides(capability, need):
        return True
    return bool(capability.categories & need.categories)


def useful(
    plugins: Iterable[FactorPlugin], factors: Sequence[Factor], needs: Iterable[Need]
) -> list[FactorPlugin]:
    """The plug-ins that help towards one of ``needs`` for a user with ``factors``: the
    factors a step-up page offers (the login policy's ``missing``, a binding step-up's)."""
    wanted = tuple(needs)
    return [p for p in plugins if any(helps(capability_of(p, factors), n) for n in wanted)]


def capability_of(plugin: FactorPlugin, factors: Sequence[Factor] = ()) -> Capability:
    """The plug-in's capability for a user with ``factors`` (``capability_for`` if any)."""
    specific = getattr(plugin, "capability_for", None)
    if specific is not None:
        result: Capability = specific(factors)
        return result
    return plugin.capability


@dataclass(frozen=True)
class FormField:
    """One labelled input of a factor form."""

    name: str
    label: str
    type: str = "text"
    autocomplete: str = "off"
    value: str = ""
    required: bool = True
    inputmode: str | None = None


@dataclass(frozen=True)
class FormView:
    """What a plug-in may use to build its form."""

    login_hint: str | None
    user: User | None
    interaction_id: str | None = None
    authorization_details: Sequence[Mapping[str, Any]] | None = None


@dataclass(frozen=True)
class Attempt:
    """A submitted factor form, with who (if anyone) is already known."""

    state: ProviderState
    form: Mapping[str, str]
    user: User | None
    factors: Sequence[Factor]
    now: float
    interaction_id: str
    context: Mapping[str, Any] = field(default_factory=dict)
    client_id: str | None = None
    #: The Provider's own validated copy of the interaction's RFC 9396 details.
    authorization_details: Sequence[Mapping[str, Any]] | None = None
    #: The events (JSON form) of the signed-in session of ``user`` this attempt steps
    #: up; empty when nobody of that name is signed in.
    session_events: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class Verified:
    """A successful verification: the user and the event to append to the session."""

    user: User
    event: AuthEvent
    factor_id: str | None = None
    #: Set when the verification approved the interaction's ``authorization_details``
    #: (the key of the stored ``txn_record``).
    txn: str | None = None


def code_field(name: str = "code", *, required: bool = True) -> FormField:
    """The **One-time code** input (TOTP, OOB codes)."""
    return FormField(
        name,
        "One-time code",
        autocomplete="one-time-code",
        inputmode="numeric",
        required=required,
    )


def numeric_code(code: str, digits: int) -> str | None:
    """``code`` without its spaces if it is exactly ``digits`` ASCII digits, else None.

    One-time codes are ASCII decimal digits (RFC 4226 §5.3, RFC 6238 §4): ``str.isdigit``
    also accepts ``１２３４５６`` and ``١٢٣٤٥٦``, which can never match — a code of that
    shape is malformed, not a wrong guess, and is refused before any attempt is counted.
    """
    candidate = "".join(code.split())
    return candidate if re.fullmatch(f"[0-9]{{{digits}}}", candidate) else None


class RecordFactor:
    """Shared glue of a plug-in enrolled as ``Factor`` records of its ``kind``.

    A possession factor (NIST 800-63B §2) that does not identify the user and needs no
    script; subclasses set ``kind`` and ``title`` and implement ``fields`` and ``verify``.
    """

    kind: ClassVar[str]
    title: ClassVar[str]
    capability: ClassVar[Capability] = Capability(categories=frozenset({Category.POSSESSION}))
    identifies: ClassVar[bool] = False
    scripts: ClassVar[tuple[str, ...]] = ()

    def is_enrolled(self, user: User, factors: Sequence[Factor]) -> bool:
        return any(f.kind == self.kind and not f.disabled for f in factors)

    def enrolled_factors(self, attempt: Attempt) -> list[Factor]:
        """The attempt user's enabled factors of this kind (none without a user)."""
        user = attempt.user
        if user is None:
            return []
        return [
            f
            for f in attempt.factors
            if f.user_id == user.id and f.kind == self.kind and not f.disabled
        ]


@runtime_checkable
class FactorPlugin(Protocol):
    """One factor kind on the interaction pages (see the module docstring)."""

    kind: ClassVar[str]
    title: ClassVar[str]
    capability: ClassVar[Capability]
    identifies: ClassVar[bool]
    scripts: ClassVar[tuple[str, ...]]

    def is_enrolled(self, user: User, factors: Sequence[Factor]) -> bool: ...

    def fields(self, view: FormView) -> Sequence[FormField]: ...

    async def verify(self, attempt: Attempt) -> Verified: ...


class FactorRegistry:
    """The factor plug-ins a Provider offers, by kind, in display order."""

    def __init__(self, plugins: Iterable[FactorPlugin] = ()) -> None:
        self._plugins: dict[str, FactorPlugin] = {}
        for plugin in plugins:
            self.register(plugin)

    def register(self, plugin: FactorPlugin) -> None:
        self._plugins[plugin.kind] = plugin

    def get(self, kind: str) -> FactorPlugin | None:
        return self._plugins.get(kind)

    def __iter__(self) -> Any:
        return iter(self._plugins.values())

    def enrolled(self, user: User, factors: Sequence[Factor]) -> list[FactorPlugin]:
        """Plug-ins the user has enrolled (an enabled factor of that kind), in registry order."""
        return [p for p in self._plugins.values() if p.is_enrolled(user, factors)]


#: Factor plug-in modules shipped with stepauth, in display order. Each defines a
#: module-level ``plugin``. A module not present in this installation is left out; a
#: module that is present but fails to import is an error.
FACTOR_MODULES = (
    "stepauth.provider.factors.webauthn",
    "stepauth.provider.factors.totp",
    "stepauth.provider.factors.oob",
    "stepauth.provider.factors.recovery",
    "stepauth.provider.factors.password",
)


def default_factors() -> FactorRegistry:
    """A registry of every shipped plug-in found in :data:`FACTOR_MODULES`."""
    registry = FactorRegistry()
    for name in FACTOR_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        plugin = getattr(module, "plugin", None)
        if plugin is not None:
            registry.register(plugin)
    return registry
