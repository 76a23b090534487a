"""The registry of authorization-details types the server accepts (RFC 9396 §2.1, §5).

The server controls the type values (RFC 9396 §2.1) and "MUST refuse to process any unknown
authorization details type" (RFC 9396 §5). :meth:`Registry.validate` aborts on the first of the
five §5 cases: unknown type, unknown field, wrong field type, invalid value, missing
required field, each an :class:`InvalidAuthorizationDetails` naming the entry and the field.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from stepauth.errors import ConfigError
from stepauth.rar.builtins import BUILTIN_TYPES
from stepauth.rar.errors import InvalidAuthorizationDetails
from stepauth.rar.schema import TypeSchema, type_from_data

__all__ = ["MAX_ENTRIES", "Registry", "default_registry"]

MAX_ENTRIES = 100


class Registry:
    """An immutable set of :class:`TypeSchema` keyed by type name."""

    def __init__(self, schemas: Mapping[str, TypeSchema]) -> None:
        self._schemas = dict(schemas)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Registry:
        """Build a registry from ``{type_name: schema_data}`` (see :mod:`stepauth.rar.schema`)."""
        if not isinstance(data, Mapping):
            raise ConfigError("must be a table of types", key="authorization_details_types")
        return cls({name: type_from_data(name, spec) for name, spec in data.items()})

    def with_types(self, data: Mapping[str, Any]) -> Registry:
        """A new registry with the types in ``data`` added; redefining a type is an error."""
        extra = Registry.from_data(data)
        for name in extra.types():
            if name in self._schemas:
                raise ConfigError(
                    "type is already defined", key=f"authorization_details_types.{name}"
                )
        return Registry({**self._schemas, **extra._schemas})

    def types(self) -> list[str]:
        """The type names, sorted (AS metadata ``authorization_details_types_supported``)."""
        return sorted(self._schemas)

    def schema(self, type_name: str) -> TypeSchema:
        try:
            return self._schemas[type_name]
        except KeyError:
            raise InvalidAuthorizationDetails(
                f"unknown authorization details type {type_name!r}", reason="unknown_type"
            ) from None

    def validate(self, details: Any) -> tuple[dict[str, Any], ...]:
        """Validate ``authorization_details`` (parsed JSON); return deep copies of the entries."""
        if not isinstance(details, list | tuple):
            raise InvalidAuthorizationDetails(
                "authorization_details must be a JSON array of objects", reason="not_array"
            )
        if not details:
            raise InvalidAuthorizationDetails(
                "authorization_details must not be empty", reason="not_array"
            )
        if len(details) > MAX_ENTRIES:
            raise InvalidAuthorizationDetails(
                f"authorization_details has more than {MAX_ENTRIES} entries", reason="not_array"
            )
        for index, entry in enumerate(details):
            where = f"authorization_details[{index}]"
            if not isinstance(entry, Mapping):
                raise InvalidAuthorizationDetails(
                    f"{where}: must be a JSON object", index=index, reason="wrong_type"
                )
            if "type" not in entry:
                raise InvalidAuthorizationDetails(
                    f"{where}.type: required field is missing",
                    index=index,
                    path="type",
                    reason="missing_type",
                )
            type_name = entry["type"]
            if not isinstance(type_name, str) or type_name not in self._schemas:
                raise InvalidAuthorizationDetails(
                    f"{where}.type: unknown authorization details type {type_name!r}",
                    index=index,
                    path="type",
                    reason="unknown_type",
                )
            self._schemas[type_name].validate(entry, index)
        return tuple(copy.deepcopy(dict(entry)) for entry in details)


default_registry = Registry.from_data(BUILTIN_TYPES)
