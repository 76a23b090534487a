"""The languages of the hosted pages: one gettext catalogue, chosen per request.

* :mod:`~stepauth.provider.i18n.catalogue` reads ``stepauth/provider/locales/<lang>/
  LC_MESSAGES/stepauth.po`` in memory (Babel ``read_po``), so there is no compiled file
  to forget; the source strings are English and English needs no catalogue;
* :mod:`~stepauth.provider.i18n.negotiate` picks the language of one request: OIDC Core
  §3.1.2.1 ``ui_locales`` (first supported wins), then ``Accept-Language`` (RFC 9110
  §12.5.4 q-values), then ``[ui] default_locale``;
* :mod:`~stepauth.provider.i18n.current` holds it for the request (a context variable the
  :func:`~stepauth.provider.i18n.request.request_locale` chooses) and translates;
* :mod:`~stepauth.provider.i18n.formatting` writes amounts and instants for it (Babel).

What the Provider sends outside the browser (one-time codes, account notices) is written
in the same language, the one of the request that causes it (:mod:`stepauth.provider.notices`).
"""

from stepauth.provider.i18n.catalogue import LOCALES_DIR, translations
from stepauth.provider.i18n.current import N_, activate, current_locale, gettext, ngettext
from stepauth.provider.i18n.negotiate import choose_locale, parse_accept_language, prefer

__all__ = [
    "LOCALES_DIR",
    "N_",
    "activate",
    "choose_locale",
    "current_locale",
    "gettext",
    "ngettext",
    "parse_accept_language",
    "prefer",
    "translations",
]
