"""The wheel carries what the Provider reads from its package at run time: the page
templates and the language catalogues (read as ``.po`` at start-up, never compiled), and
the ``provider`` extra brings Babel to read them."""

from __future__ import annotations

import zipfile
from email.parser import HeaderParser
from pathlib import Path

from stepauth.provider.config import UI_LOCALES
from stepauth.provider.i18n.catalogue import SOURCE_LOCALE


def test_the_wheel_carries_every_catalogue_and_template(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = HeaderParser().parsestr(archive.read(metadata).decode()).get_all("Requires-Dist")
    for locale in UI_LOCALES:
        if locale != SOURCE_LOCALE:
            assert f"stepauth/provider/locales/{locale}/LC_MESSAGES/stepauth.po" in names
    for template in ("base.html", "interaction.html", "error.html", "unavailable.html"):
        assert f"stepauth/provider/interaction/templates/{template}" in names
    assert "stepauth/provider/account/templates/account.html" in names
    babel = [r for r in requires or [] if r.lower().startswith("babel")]
    assert babel, requires
    assert any("extra == 'provider'" in r for r in babel), babel
    assert not [r for r in babel if "extra" not in r], "the base install is the SDK alone"
