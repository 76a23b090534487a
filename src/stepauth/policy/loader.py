"""Read a policy file (TOML, format in ``docs/policy.md``) into a :class:`Policy`.

Everything is checked before anything is used, and the first problem raises
:class:`PolicyError` with the key and the line: an unknown table or field, an unknown action
(in a rule), an unknown level (checked against the assurance ladder), an unknown signal or
exemption, a wrong type, and limits that the PSD2 RTS does not allow (an exemption limit may
be lowered, never raised; creating trusted beneficiaries or recurring series is never
exempt; a payment is always bound to its amount and payee, RTS Art. 5).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import Any, NoReturn

from stepauth.assurance import DEFAULT_LADDER, Ladder
from stepauth.policy.context import non_negative_decimal
from stepauth.policy.errors import PolicyError
from stepauth.policy.exemptions import APPLIES_TO, REFERENCE_FRAUD_RATES
from stepauth.policy.ladder import is_known
from stepauth.policy.lines import Path as KeyPath
from stepauth.policy.lines import format_path, key_lines, line_of
from stepauth.policy.model import (
    ACTION_KINDS,
    CONTEXT_FLAGS,
    EXEMPTIONS,
    SIGNALS,
    Action,
    ExemptionSettings,
    LowValueSettings,
    Policy,
    RiskRule,
    TRASettings,
    Upgrade,
)

__all__ = ["load_policy", "parse_policy"]

_TOP = frozenset({"policy", "actions", "rules", "exemptions"})
_POLICY = frozenset({"version", "currency", "description"})
_ACTION = frozenset(
    {"description", "acr", "max_age", "bind", "kind", "exemptable", "exemptions", "upgrade"}
)
_UPGRADE = frozenset({"when", "acr", "max_age"})
_RULE = frozenset({"name", "signal", "threshold", "acr", "max_age", "actions", "description"})
_FLAG_SIGNALS = frozenset({"new_payee", "new_device", "new_ip_country"})
_EXEMPTION_OPTIONS: Mapping[str, frozenset[str]] = {
    "trusted_beneficiary": frozenset(),
    "recurring": frozenset(),
    "own_accounts": frozenset(),
    "low_value": frozenset({"max_amount", "counter", "max_cumulative_amount", "max_count"}),
    "tra": frozenset({"payment_type", "fraud_rate"}),
    "account_information": frozenset({"max_days"}),
}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]*")
_RTS = LowValueSettings()  # the RTS Art. 16 limits


class _Invalid(Exception):
    def __init__(self, path: KeyPath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _fail(path: KeyPath, message: str) -> NoReturn:
    raise _Invalid(path, message)


def load_policy(path: str | PathLike[str], *, ladder: Ladder = DEFAULT_LADDER) -> Policy:
    """Read and check the policy file at ``path``; :class:`PolicyError` carries ``path`` and
    the wrong ``line``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the policy file: {exc}", path=str(path)) from exc
    return parse_policy(text, ladder=ladder, source=str(path))


def parse_policy(
    text: str, *, ladder: Ladder = DEFAULT_LADDER, source: str | None = None
) -> Policy:
    """Parse policy TOML ``text``; ``source`` names the file in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
        raise PolicyError(f"not valid TOML: {exc}", line=line, path=source) from exc
    try:
        return _policy(data, ladder, source)
    except _Invalid as exc:
        line = line_of(key_lines(text), exc.path)
        raise PolicyError(exc.message, key=format_path(exc.path), line=line, path=source) from None


def _policy(data: Mapping[str, Any], ladder: Ladder, source: str | None) -> Policy:
    _known_keys(data, _TOP, (), "table")
    meta = _table(data, ("policy",), optional=True)
    _known_keys(meta, _POLICY, ("policy",), "field")
    version = meta.get("version", 1)
    if isinstance(version, bool) or version != 1:
        _fail(("policy", "version"), "unsupported version (this reader knows version 1)")
    currency = meta.get("currency", "EUR")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        _fail(("policy", "currency"), "must be an ISO 4217 code such as EUR")
    if "description" in meta:
        _string(meta, ("policy", "description"))

    exemption_settings = _exemptions(_table(data, ("exemptions",), optional=True))
    actions_data = _table(data, ("actions",))
    if not actions_data:
        _fail(("actions",), "the policy defines no action")
    actions = {
        name: _action(name, spec, ladder, exemption_settings) for name, spec in actions_data.items()
    }
    rules_data = data.get("rules", [])
    if not isinstance(rules_data, list):
        _fail(("rules",), "must be an array of tables ([[rules]])")
    rules = tuple(_rule(i, spec, ladder, actions) for i, spec in enumerate(rules_data))
    names = [rule.name for rule in rules]
    for i, name in enumerate(names):
        if name in names[:i]:
            _fail(("rules", i, "name"), f"duplicate rule name {name!r}")
    return Policy(
        actions=actions,
        rules=rules,
        exemptions=exemption_settings,
        currency=currency,
        ladder=ladder,
        source=source,
    )


def _known_keys(data: Mapping[str, Any], allowed: frozenset[str], path: KeyPath, what: str) -> None:
    for key in data:
        if key not in allowed:
            _fail((*path, key), f"unknown {what} {key!r}; expected one of {sorted(allowed)}")


def _table(data: Mapping[str, Any], path: KeyPath, *, optional: bool = False) -> Mapping[str, Any]:
    value = data.get(str(path[-1]))
    if value is None:
        if optional:
            return {}
        _fail(path, "required table is missing")
    if not isinstance(value, Mapping):
        _fail(path, "must be a table")
    return value


def _string(data: Mapping[str, Any], path: KeyPath) -> str:
    value = data[str(path[-1])]
    if not isinstance(value, str):
        _fail(path, "must be a string")
    return value


def _bool(data: Mapping[str, Any], path: KeyPath, default: bool) -> bool:
    value = data.get(str(path[-1]), default)
    if not isinstance(value, bool):
        _fail(path, "must be true or false")
    return value


def _max_age(data: Mapping[str, Any], path: KeyPath) -> int | None:
    value = data.get(str(path[-1]))
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        _fail(path, "must be a non-negative integer (seconds)")
    return value


def _level(data: Mapping[str, Any], path: KeyPath, ladder: Ladder) -> str:
    value = data.get(str(path[-1]))
    if not isinstance(value, str):
        _fail(path, "must be a level (acr value)")
    if not is_known(ladder, value):
        _fail(path, f"unknown level {value!r}; the ladder has {list(ladder.acr_values)}")
    return value


def _decimal(value: Any, path: KeyPath) -> Decimal:
    try:
        return non_negative_decimal(value, format_path(path))
    except PolicyError as exc:
        _fail(path, exc.description.split(": ", 1)[-1])


def _action(name: str, spec: Any, ladder: Ladder, settings: ExemptionSettings) -> Action:
    path: KeyPath = ("actions", name)
    if not _NAME.fullmatch(name):
        _fail(path, "an action name starts with a letter and has letters, digits, _ . : -")
    if not isinstance(spec, Mapping):
        _fail(path, "must be a table")
    _known_keys(spec, _ACTION, path, "field")
    if "acr" not in spec:
        _fail((*path, "acr"), "required field is missing")
    acr = _level(spec, (*path, "acr"), ladder)
    kind = spec.get("kind", "other")
    if kind not in ACTION_KINDS:
        _fail((*path, "kind"), f"unknown kind {kind!r}; expected one of {list(ACTION_KINDS)}")
    bind = _bool(spec, (*path, "bind"), kind == "payment")
    if kind == "payment" and not bind:
        _fail((*path, "bind"), "a payment is always bound to its amount and payee (RTS Art. 5)")
    exemptable = _bool(spec, (*path, "exemptable"), kind in ("payment", "account_access"))
    if exemptable and kind in ("beneficiary", "recurring_series"):
        article = "13" if kind == "beneficiary" else "14"
        _fail(
            (*path, "exemptable"),
            f"creating or amending a {kind.replace('_', ' ')} always needs SCA "
            f"(RTS Art. {article})",
        )
    exemptions = _action_exemptions(spec, path, kind, exemptable, settings)
    upgrades_data = spec.get("upgrade", [])
    if not isinstance(upgrades_data, list):
        _fail((*path, "upgrade"), "must be an array of tables ([[actions.NAME.upgrade]])")
    upgrades = []
    for i, upgrade in enumerate(upgrades_data):
        where: KeyPath = (*path, "upgrade", i)
        if not isinstance(upgrade, Mapping):
            _fail(where, "must be a table")
        _known_keys(upgrade, _UPGRADE, where, "field")
        when = upgrade.get("when")
        if when not in CONTEXT_FLAGS:
            _fail((*where, "when"), f"must be one of {list(CONTEXT_FLAGS)}")
        upgrades.append(
            Upgrade(
                when=when,
                acr=_level(upgrade, (*where, "acr"), ladder),
                max_age=_max_age(upgrade, (*where, "max_age")),
            )
        )
    return Action(
        name=name,
        acr=acr,
        max_age=_max_age(spec, (*path, "max_age")),
        bind=bind,
        kind=kind,
        exemptable=exemptable,
        exemptions=exemptions,
        upgrades=tuple(upgrades),
        description=_string(spec, (*path, "description")) if "description" in spec else "",
    )


def _action_exemptions(
    spec: Mapping[str, Any], path: KeyPath, kind: str, exemptable: bool, settings: ExemptionSettings
) -> tuple[str, ...]:
    where: KeyPath = (*path, "exemptions")
    if "exemptions" not in spec:
        if not exemptable:
            return ()
        return tuple(e for e in EXEMPTIONS if APPLIES_TO[e] == kind and e in settings.enabled)
    if not exemptable:
        _fail(where, "the action is not exemptable (exemptable = false)")
    names = spec["exemptions"]
    if not isinstance(names, list):
        _fail(where, "must be a list of exemption names")
    for name in names:
        if name not in EXEMPTIONS:
            _fail(where, f"unknown exemption {name!r}; expected one of {list(EXEMPTIONS)}")
        if APPLIES_TO[name] != kind:
            _fail(where, f"exemption {name!r} applies to {APPLIES_TO[name]} actions, not {kind}")
        if name not in settings.enabled:
            _fail(where, f"exemption {name!r} is not enabled: add an [exemptions.{name}] table")
    if len(set(names)) != len(names):
        _fail(where, "lists an exemption twice")
    return tuple(names)


def _rule(index: int, spec: Any, ladder: Ladder, actions: Mapping[str, Action]) -> RiskRule:
    path: KeyPath = ("rules", index)
    if not isinstance(spec, Mapping):
        _fail(path, "must be a table")
    _known_keys(spec, _RULE, path, "field")
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        _fail((*path, "name"), "every rule needs a name (letters, digits, _ . : -)")
    signal = spec.get("signal")
    if signal not in SIGNALS:
        _fail((*path, "signal"), f"unknown signal {signal!r}; expected one of {list(SIGNALS)}")
    threshold = None
    if signal in _FLAG_SIGNALS:
        if "threshold" in spec:
            _fail((*path, "threshold"), f"signal {signal!r} takes no threshold")
    elif "threshold" not in spec:
        _fail((*path, "threshold"), f"signal {signal!r} needs a threshold")
    else:
        threshold = _decimal(spec["threshold"], (*path, "threshold"))
        if signal == "velocity_above" and threshold != threshold.to_integral_value():
            _fail((*path, "threshold"), "a velocity threshold is a whole number of actions")
        if signal == "risk_score_above" and threshold > 1:
            _fail((*path, "threshold"), "a risk score threshold is between 0 and 1")
    scope = spec.get("actions", [])
    if not isinstance(scope, list) or not all(isinstance(a, str) for a in scope):
        _fail((*path, "actions"), "must be a list of action names")
    for action in scope:
        if action not in actions:
            _fail((*path, "actions"), f"unknown action {action!r}")
    return RiskRule(
        name=name,
        signal=signal,
        threshold=threshold,
        acr=_level(spec, (*path, "acr"), ladder) if "acr" in spec else None,
        max_age=_max_age(spec, (*path, "max_age")),
        actions=tuple(scope),
        description=_string(spec, (*path, "description")) if "description" in spec else "",
    )


def _exemptions(data: Mapping[str, Any]) -> ExemptionSettings:
    path: KeyPath = ("exemptions",)
    _known_keys(data, frozenset(_EXEMPTION_OPTIONS), path, "exemption")
    for name, options in data.items():
        if not isinstance(options, Mapping):
            _fail((*path, name), "must be a table (an empty one enables the exemption)")
        _known_keys(options, _EXEMPTION_OPTIONS[name], (*path, name), "option")
    low = data.get("low_value", {})
    where: KeyPath = (*path, "low_value")
    low_value = LowValueSettings(
        max_amount=_capped(low, (*where, "max_amount"), _RTS.max_amount),
        counter=low.get("counter", _RTS.counter),
        max_cumulative_amount=_capped(
            low, (*where, "max_cumulative_amount"), _RTS.max_cumulative_amount
        ),
        max_count=int(_capped(low, (*where, "max_count"), Decimal(_RTS.max_count))),
    )
    if low_value.counter not in ("amount", "count"):
        _fail((*where, "counter"), 'must be "amount" (Art. 16(b)) or "count" (Art. 16(c))')
    if "max_count" in low and not isinstance(low["max_count"], int):
        _fail((*where, "max_count"), "must be a whole number")
    tra_data = data.get("tra", {})
    where = (*path, "tra")
    payment_type = tra_data.get("payment_type", "credit_transfer")
    if payment_type not in REFERENCE_FRAUD_RATES:
        _fail((*where, "payment_type"), f"must be one of {sorted(REFERENCE_FRAUD_RATES)}")
    fraud_rate = None
    if "fraud_rate" in tra_data:
        fraud_rate = _decimal(tra_data["fraud_rate"], (*where, "fraud_rate"))
        if fraud_rate > 100:
            _fail((*where, "fraud_rate"), "is a percentage (0 to 100)")
    info = data.get("account_information", {})
    max_days = info.get("max_days", 180)
    if not isinstance(max_days, int) or isinstance(max_days, bool) or not 0 <= max_days <= 180:
        _fail(
            (*path, "account_information", "max_days"),
            "must be a whole number of days, at most 180 (RTS Art. 10)",
        )
    return ExemptionSettings(
        enabled=frozenset(data),
        low_value=low_value,
        tra=TRASettings(payment_type=payment_type, fraud_rate=fraud_rate),
        account_information_max_days=max_days,
    )


def _capped(data: Mapping[str, Any], path: KeyPath, limit: Decimal) -> Decimal:
    """An RTS limit that a deployment may lower but never raise."""
    if str(path[-1]) not in data:
        return limit
    value = _decimal(data[str(path[-1])], path)
    if value > limit:
        _fail(path, f"must not exceed the RTS limit {limit} (PSD2 RTS Art. 16)")
    return value
