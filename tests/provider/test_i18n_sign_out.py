"""The sign-out pages (RP-Initiated Logout 1.0 §2) and the account's error pages speak the
request's language, with ``<html lang>`` saying which (WCAG 2.2 SC 3.1.1)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from stepauth.provider.notices import read_outbox
from tests.helpers.account_pages import csrf_of, reauth
from tests.helpers.frontchannel import query, sign_in
from tests.helpers.harness import PASSWORD, USERNAME, Provider

#: (question, button, signed out, form used) of each language.
WORDS = {
    "en": (
        "Do you want to sign out of stepauth?",
        "Sign out",
        "You are signed out.",
        "the sign-out form expired or was already used",
    ),
    "de": (
        "Möchten Sie sich von stepauth abmelden?",
        "Abmelden",
        "Sie sind abgemeldet.",
        "das Abmeldeformular ist abgelaufen oder wurde bereits verwendet",
    ),
    "fr": (
        "Voulez-vous vous déconnecter de stepauth ?",
        "Se déconnecter",
        "Votre session est fermée.",
        "le formulaire de déconnexion a expiré ou a déjà été utilisé",
    ),
    "es": (
        "¿Desea cerrar la sesión de stepauth?",
        "Cerrar sesión",
        "Ha cerrado la sesión.",
        "el formulario de cierre de sesión ha caducado o ya se utilizó",
    ),
    "it": (
        "Vuole uscire da stepauth?",
        "Esci",
        "Ha chiuso la sessione.",
        "il modulo di disconnessione è scaduto o è già stato usato",
    ),
}


def text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


@pytest.mark.parametrize("locale", sorted(WORDS))
async def test_the_sign_out_pages_speak_the_request_language(
    provider: Provider, locale: str
) -> None:
    question, button, done, used = WORDS[locale]
    await sign_in(provider.browser, query())
    provider.browser.headers["Accept-Language"] = f"{locale}, en;q=0.1"
    ask = await provider.browser.get("/logout")
    assert f'<html lang="{locale}">' in ask.text
    assert ask.headers["cache-control"] == "no-store"
    assert question in text(ask.text)
    assert f">{button}</button>" in ask.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', ask.text)
    assert csrf
    signed_out = await provider.browser.post("/logout", data={"csrf": csrf[1]})
    assert signed_out.status_code == 200
    assert f'<html lang="{locale}">' in signed_out.text
    assert done in text(signed_out.text)
    again = await provider.browser.post("/logout", data={"csrf": csrf[1]})
    assert again.status_code == 400
    assert f"<strong>invalid_request</strong>: {used}</p>" in unescape(again.text)
    assert "<code" not in again.text  # the user's own words, not a developer's detail


async def test_an_account_error_page_speaks_the_request_language(
    provider: Provider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPAUTH_OUTBOX", str(tmp_path / "outbox.jsonl"))
    provider.browser.headers["Accept-Language"] = "de"
    await reauth(provider.browser, "password", username=USERNAME, password=PASSWORD)
    page = await provider.browser.get("/account")
    refused = await provider.browser.post(
        "/account/factors/no-such-factor/rename",
        data={"csrf": csrf_of(page.text), "label": "x"},
    )
    assert refused.status_code == 400
    assert "diese Anmeldemethode gibt es nicht" in text(refused.text)
    stale = await provider.browser.post("/account/recovery", data={"csrf": "from-an-old-page"})
    assert stale.status_code == 403
    assert (
        "das Formular ist nicht gültig; laden Sie die Seite neu und versuchen Sie es erneut"
        in text(stale.text)
    )
    assert read_outbox() == []  # nothing changed, nothing notified


@pytest.mark.parametrize(
    ("locale", "heading", "label"),
    [
        ("en", "This request cannot be completed", "Details for the application's developer:"),
        (
            "de",
            "Diese Anfrage kann nicht abgeschlossen werden",
            "Details für die Entwickler der Anwendung:",
        ),
        (
            "it",
            "Questa richiesta non può essere completata",
            "Dettagli per gli sviluppatori dell’applicazione:",
        ),
    ],
)
async def test_a_developers_description_stays_english_under_translated_words(
    provider: Provider, locale: str, heading: str, label: str
) -> None:
    """RFC 6749 §4.1.2.1: an unknown client is never redirected to; what the page says of
    it is for the client's developer, in English, marked so (WCAG 2.2 SC 3.1.2)."""
    provider.browser.headers["Accept-Language"] = locale
    shown = await provider.browser.get("/authorize", params=query(client_id="nobody"))
    assert shown.status_code == 401
    assert f'<html lang="{locale}">' in shown.text
    assert heading in unescape(shown.text)
    assert "<strong>invalid_client</strong></p>" in shown.text
    assert f'{label} <code lang="en">unknown client_id</code>' in unescape(shown.text)
