"""The Jinja2 environment of the hosted pages: autoescaped, with the request's language.

``jinja2.ext.i18n`` with new-style gettext (``{{ _("…") }}`` escapes and formats like
Python's ``%``); the callables read the request's language, so one environment serves
every language. ``msg(value)`` translates a msgid held in a variable, and
``html_lang()`` gives ``<html lang>`` (WCAG 2.2 SC 3.1.1), ``brand()`` the Provider's
branding.
"""

from __future__ import annotations

from jinja2 import BaseLoader, Environment, select_autoescape

from stepauth.provider.branding.current import current_brand
from stepauth.provider.i18n.current import current_locale, gettext, ngettext

__all__ = ["page_environment"]


def page_environment(loader: BaseLoader) -> Environment:
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["html_lang"] = current_locale
    # msg(value): a msgid held in a variable (a reason, a refusal). Never ``_(value)``: the
    # new-style ``_`` applies ``%`` formatting, which a ``%`` in a factor's name would break.
    env.globals["msg"] = gettext
    # brand(): the Provider's name, logo and theme (stepauth.provider.branding); a page
    # for a client passes its own as ``page_brand``
    env.globals["brand"] = current_brand
    return env
