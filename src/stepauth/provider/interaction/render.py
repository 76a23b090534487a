"""HTML pages of the Provider: Jinja2 templates with autoescaping, no inline script."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import FileSystemLoader
from starlette.requests import Request
from starlette.responses import HTMLResponse

from stepauth.provider.errors import ProviderError
from stepauth.provider.i18n import gettext
from stepauth.provider.i18n.catalogue import catalogued
from stepauth.provider.i18n.templates import page_environment

if TYPE_CHECKING:
    from stepauth.provider.factors.base import FactorPlugin, FormView

__all__ = ["error_page", "factor_forms", "form_post_page", "render"]

TEMPLATES = Path(__file__).parent / "templates"

_env = page_environment(FileSystemLoader(TEMPLATES))


def render(name: str, context: Mapping[str, Any], *, status_code: int = 200) -> HTMLResponse:
    html = _env.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code)


def factor_forms(offered: Sequence[FactorPlugin], view: FormView) -> dict[str, Any]:
    """The ``forms`` and ``scripts`` of ``interaction.html`` for the offered plug-ins, in
    the request's language (a plug-in's title, button and labels are msgids)."""
    return {
        "scripts": [s for p in offered for s in p.scripts],
        "forms": [
            {
                "kind": p.kind,
                "title": gettext(p.title),
                "button": gettext(getattr(p, "button", "Continue")),
                "fields": [replace(f, label=gettext(f.label)) for f in p.fields(view)],
            }
            for p in offered
        ],
    }


def error_page(request: Request, exc: ProviderError) -> HTMLResponse:
    """The page shown instead of a redirect (unknown client, bad redirect_uri, CSRF…).

    A description in the catalogue (one the user met by their own action: an expired
    sign-in, a used sign-out form) is shown in the request's language; any other is
    written for the client's developer (RFC 6749 §4.1.2.1: an unknown client, a
    redirect_uri not registered) and is shown as such, English and marked so
    (``lang="en"``, WCAG 2.2 SC 3.1.2), under a translated heading."""
    description = exc.description
    reader = bool(description) and catalogued(description)
    return render(
        "error.html",
        {
            "error": exc.error,
            "description": gettext(description) if reader else "",
            "detail": "" if reader else description,
        },
        status_code=exc.status,
    )


def form_post_page(request: Request, redirect_uri: str, fields: Mapping[str, str]) -> HTMLResponse:
    """OAuth 2.0 Form Post Response Mode: a form the static script submits."""
    return render("form_post.html", {"action": redirect_uri, "fields": fields})
