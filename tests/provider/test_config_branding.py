"""``[branding]`` and ``[[clients]] branding``: colours, contrast, logos, URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stepauth.errors import ConfigError
from stepauth.provider.config import LogoFile, ProviderConfig
from stepauth.provider.config.branding import MAX_LOGO_BYTES
from stepauth.provider.config.contrast import contrast_ratio, relative_luminance

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'


def _config(
    tmp_path: Path, provider: dict[str, Any] | None = None, **client: Any
) -> ProviderConfig:
    data: dict[str, Any] = {
        "issuer": "https://op.example",
        "clients": [
            {"client_id": "rp", "redirect_uris": ["https://rp.example/cb"], **client},
        ],
    }
    if provider is not None:
        data["branding"] = provider
    return ProviderConfig.from_dict(data, base_dir=tmp_path)


def _error(tmp_path: Path, provider: dict[str, Any] | None = None, **client: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, provider, **client)
    return str(caught.value)


def test_default_branding_is_stepauth_without_logo_or_colour(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert config.branding.product_name == "stepauth"
    assert config.branding.logo is None
    assert config.branding.primary_colour is None
    assert config.clients[0].branding is None


def test_wcag_luminance_and_ratio_match_the_definitions() -> None:
    # WCAG 2.2 glossary: black 0, white 1; black on white is 21:1
    assert relative_luminance("#000000") == 0
    assert relative_luminance("#ffffff") == pytest.approx(1)
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#ffcc00", "#ffffff") == pytest.approx(1.512, abs=0.001)


@pytest.mark.parametrize("colour", ["red", "#fff", "#12345g", "1a5fd0", "#1a5fd0ff"])
def test_bad_colour_is_refused(tmp_path: Path, colour: str) -> None:
    message = _error(tmp_path, {"primary_colour": colour})
    assert "branding.primary_colour" in message
    assert "must be a colour #rrggbb" in message


def test_failing_contrast_names_the_pair_and_ratio(tmp_path: Path) -> None:
    message = _error(tmp_path, {"primary_colour": "#ffcc00"})
    assert "branding.primary_colour: #ffcc00 on #ffffff is 1.5:1, needs 4.5:1" in message
    assert "(WCAG 2.2 SC 1.4.3)" in message


def test_just_below_the_threshold_is_refused(tmp_path: Path) -> None:
    # #777777 on white is 4.48:1: shown rounded down, never as the 4.5:1 it misses
    message = _error(tmp_path, {"primary_colour": "#777777"})
    assert "#777777 on #ffffff is 4.4:1, needs 4.5:1" in message


def test_client_colour_is_checked_too(tmp_path: Path) -> None:
    message = _error(tmp_path, None, branding={"primary_colour": "#00ff00"})
    assert "clients[0].branding.primary_colour: #00ff00 on #ffffff is 1.3:1" in message


def test_unknown_branding_key_is_refused(tmp_path: Path) -> None:
    assert "branding.colour: unknown key" in _error(tmp_path, {"colour": "#1a5fd0"})


def test_dark_colours_pass(tmp_path: Path) -> None:
    config = _config(tmp_path, {"primary_colour": "#1A5FD0"})
    assert config.branding.primary_colour == "#1a5fd0"


def test_bad_logo_type_is_refused(tmp_path: Path) -> None:
    (tmp_path / "logo.gif").write_bytes(b"GIF89a")
    assert "must be a .png, .svg or .webp file" in _error(tmp_path, {"logo": "logo.gif"})


def test_logo_whose_content_is_not_its_type_is_refused(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"<html><script>alert(1)</script>")
    assert "is not a png file" in _error(tmp_path, {"logo": "logo.png"})


def test_oversized_logo_is_refused(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(PNG + b"\0" * MAX_LOGO_BYTES)
    assert f"at most {MAX_LOGO_BYTES} allowed" in _error(tmp_path, {"logo": "logo.png"})


def test_missing_logo_is_refused(tmp_path: Path) -> None:
    assert "branding.logo: cannot read" in _error(tmp_path, {"logo": "nowhere.svg"})


def test_http_logo_url_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, {"logo": "http://cdn.example/logo.png"})
    assert "branding.logo: must be an https URL" in message


def test_http_support_url_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, {"support_url": "http://help.example"})
    assert "branding.support_url: must be an https URL" in message


def test_logo_file_is_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "logo.svg").write_bytes(SVG)
    config = _config(tmp_path, {"logo": "logo.svg"}, branding={"name": "RP", "logo": "logo.svg"})
    assert isinstance(config.branding.logo, LogoFile)
    assert config.branding.logo.content_type == "image/svg+xml"
    assert config.branding.logo.data == SVG
    assert config.clients[0].branding is not None
    assert config.clients[0].branding.name == "RP"
