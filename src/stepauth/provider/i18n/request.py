"""The language of one HTTP request (set for it by
:class:`~stepauth.provider.request_frame.RequestFrame`)."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.types import Scope

from stepauth.provider.config import UIConfig
from stepauth.provider.i18n.negotiate import choose_locale

__all__ = ["request_locale"]


def _ui_locales_parameters(query: str) -> dict[str, list[str]]:
    """``parse_qs(query)`` reduced to the parameters that can be ``ui_locales``: the
    same answer for that name, without unquoting every other value of a long
    authorization request (only a name that is ``ui_locales`` or has ``%`` or ``+`` in it
    can decode to it)."""
    if not query or ("ui_locales" not in query and "%" not in query and "+" not in query):
        return {}  # no name that is or decodes to ui_locales: nothing to split
    kept = [
        piece
        for piece in query.split("&")
        if (name := piece.partition("=")[0]) == "ui_locales" or "%" in name or "+" in name
    ]
    return parse_qs("&".join(kept)) if kept else {}


def request_locale(scope: Scope, ui: UIConfig) -> str:
    """The query's ``ui_locales`` (an authorization request's own pages, OIDC Core
    §3.1.2.1), then ``Accept-Language``, then ``[ui]``; an interaction refines it with the
    ``ui_locales`` its request carried (:func:`stepauth.provider.i18n.prefer`)."""
    raw_query = scope.get("query_string", b"")
    query = _ui_locales_parameters(bytes(raw_query).decode("latin-1")) if raw_query else {}
    ui_locales = " ".join(query.get("ui_locales", [])[:1]).split() if query else []
    accept = None
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            accept = value.decode("latin-1")
            break
    if ui_locales or accept:
        return choose_locale(ui_locales=ui_locales, accept_language=accept, ui=ui)
    return ui.default_locale  # what choose_locale answers with neither
