"""What the application knows about the request: the decision context.

The policy is pure: every signal, every counter and every list lookup (is this payee trusted,
is this a known device) is done by the application and passed in here. Counters are "since
the last application of strong customer authentication", per user (PSD2 RTS Art. 16); the
decision says how to update them, the application persists the update after the action.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from stepauth.policy.errors import PolicyError
from stepauth.rar.values import amount_decimal

__all__ = ["Context", "Counters", "RecurringSeries", "non_negative_decimal"]


@dataclass(frozen=True)
class Counters:
    """Remote payments since the last SCA of this user (PSD2 RTS Art. 16(b)-(c))."""

    transactions: int = 0
    amount: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        _typed(self.transactions, int, "counters.transactions")
        if self.transactions < 0:
            raise PolicyError("must not be negative", key="counters.transactions")
        object.__setattr__(self, "amount", non_negative_decimal(self.amount, "counters.amount"))

    def to_json(self) -> dict[str, Any]:
        return {"transactions": self.transactions, "amount": str(self.amount)}


@dataclass(frozen=True)
class RecurringSeries:
    """A series of recurring payments (PSD2 RTS Art. 14).

    ``established`` is true only when the series was created (or last amended) with SCA;
    ``amount`` and ``payee`` are the ones approved then.
    """

    established: bool
    amount: Decimal
    payee: str

    def __post_init__(self) -> None:
        _typed(self.established, bool, "recurring.established")
        _typed(self.payee, str, "recurring.payee")
        object.__setattr__(self, "amount", non_negative_decimal(self.amount, "recurring.amount"))


@dataclass(frozen=True)
class Context:
    """Signals and counters for one decision. Every field is optional.

    - ``amount``/``currency``: the payment amount (a decimal string in JSON).
    - ``amount_eur``: the amount converted to euro when ``currency`` is not EUR; PSD2
      exemption limits are in euro and no exemption applies without it.
    - ``payee``: a stable payee identifier (e.g. the normalised IBAN).
    - ``payee_trusted``: the payee is on the payer's trusted-beneficiary list (Art. 13).
    - ``own_account``: the payee account belongs to the payer at the same PSP (Art. 15).
    - ``new_payee``, ``new_device``, ``new_ip_country``: risk flags.
    - ``velocity``: sensitive actions of this user in the application's velocity window.
    - ``seconds_since_factor_change``: time since a factor was added, removed or reset.
    - ``risk_score``: an optional vendor risk score in [0, 1].
    - ``has_hardware_key``: the user has a registered device-bound hardware key.
    - ``remote``: the transaction is initiated remotely (Art. 16, 18 need it).
    - ``seconds_since_sca``: time since the user's last SCA, ``None`` if never (Art. 10).
    - ``counters``: :class:`Counters` since the last SCA; ``recurring``: :class:`RecurringSeries`.
    - ``fraud_rate``: the measured fraud rate in percent, overriding the policy file (Art. 19).
    """

    amount: Decimal | None = None
    currency: str | None = None
    amount_eur: Decimal | None = None
    payee: str | None = None
    payee_trusted: bool = False
    own_account: bool = False
    new_payee: bool = False
    new_device: bool = False
    new_ip_country: bool = False
    velocity: int = 0
    seconds_since_factor_change: float | None = None
    risk_score: float | None = None
    has_hardware_key: bool = False
    remote: bool = True
    seconds_since_sca: float | None = None
    counters: Counters = field(default_factory=Counters)
    recurring: RecurringSeries | None = None
    fraud_rate: Decimal | None = None

    def __post_init__(self) -> None:
        # Amounts may be given as strings, ints or floats; compare them as decimals. A value
        # that is not a finite, non-negative number is an error, never a silent pass.
        for name in ("amount", "amount_eur", "fraud_rate"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, non_negative_decimal(value, f"context.{name}"))
        for name in ("seconds_since_factor_change", "risk_score", "seconds_since_sca"):
            value = getattr(self, name)
            if value is not None:
                number = _number(value, f"context.{name}")
                if not math.isfinite(number) or number < 0:
                    raise PolicyError(
                        "must be a finite, non-negative number", key=f"context.{name}"
                    )
        if _typed(self.velocity, int, "context.velocity") < 0:
            raise PolicyError("must not be negative", key="context.velocity")

    def euro_amount(self) -> Decimal | None:
        """The amount in euro, or ``None`` when it is not known in euro."""
        if self.amount_eur is not None:
            return self.amount_eur
        if self.amount is not None and self.currency in (None, "EUR"):
            return self.amount
        return None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Context:
        """Build a context from parsed JSON; unknown or mistyped fields raise PolicyError."""
        if not isinstance(data, Mapping):
            raise PolicyError("the context must be a JSON object")
        known = {f.name for f in fields(cls)}
        for name in data:
            if name not in known:
                raise PolicyError("unknown context field", key=f"context.{name}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            key = f"context.{name}"
            if value is None:
                continue
            if name in ("amount", "amount_eur", "fraud_rate"):
                values[name] = non_negative_decimal(value, key)
            elif name in ("currency", "payee"):
                values[name] = _typed(value, str, key)
            elif name in ("velocity",):
                values[name] = _typed(value, int, key)
            elif name in ("seconds_since_factor_change", "risk_score", "seconds_since_sca"):
                values[name] = float(_number(value, key))
            elif name == "counters":
                values[name] = _counters(value, key)
            elif name == "recurring":
                values[name] = _recurring(value, key)
            else:
                values[name] = _typed(value, bool, key)
        return cls(**values)


def _typed(value: Any, kind: type, key: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PolicyError(f"must be a {kind.__name__}", key=key)
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise PolicyError("must be a number", key=key)
    return float(value)


def non_negative_decimal(value: Any, key: str) -> Decimal:
    """A decimal string, int, float or Decimal as a finite, non-negative Decimal."""
    result = amount_decimal(value)
    if result is None or result < 0:
        raise PolicyError('must be a non-negative decimal such as "30.00"', key=key)
    return result


def _counters(value: Any, key: str) -> Counters:
    if not isinstance(value, Mapping) or set(value) - {"transactions", "amount"}:
        raise PolicyError("must be an object with 'transactions' and 'amount'", key=key)
    transactions = _typed(value.get("transactions", 0), int, f"{key}.transactions")
    if transactions < 0:
        raise PolicyError("must not be negative", key=f"{key}.transactions")
    return Counters(transactions, non_negative_decimal(value.get("amount", "0"), f"{key}.amount"))


def _recurring(value: Any, key: str) -> RecurringSeries:
    if not isinstance(value, Mapping) or set(value) != {"established", "amount", "payee"}:
        raise PolicyError("must be an object with 'established', 'amount' and 'payee'", key=key)
    return RecurringSeries(
        established=_typed(value["established"], bool, f"{key}.established"),
        amount=non_negative_decimal(value["amount"], f"{key}.amount"),
        payee=_typed(value["payee"], str, f"{key}.payee"),
    )
