"""``[branding]`` and a client's ``branding`` → :class:`BrandingConfig` / :class:`ClientBranding`.

A logo is an ``https`` URL or a file next to the config: PNG, SVG or WebP (read here, its
type checked against its first bytes, at most :data:`MAX_LOGO_BYTES`), served by the
Provider itself (:mod:`stepauth.provider.branding`). A primary colour must reach WCAG 2.2
SC 1.4.3 (4.5:1) against the white button text and the white page it is drawn on: an
unreadable theme stops start-up rather than reaching users.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from stepauth.errors import ConfigError
from stepauth.provider.config.contrast import MIN_TEXT_CONTRAST, contrast_ratio, is_colour
from stepauth.provider.config.schema import BrandingTable, ClientBrandingTable

__all__ = [
    "BUTTON_TEXT",
    "DEFAULT_PRODUCT_NAME",
    "LOGO_TYPES",
    "MAX_LOGO_BYTES",
    "PAGE_BACKGROUND",
    "BrandingConfig",
    "ClientBranding",
    "LogoFile",
    "branding",
    "client_branding",
]

#: What the primary colour is checked against (stepauth.css): button text, page.
BUTTON_TEXT = "#ffffff"
PAGE_BACKGROUND = "#ffffff"
MAX_LOGO_BYTES = 256 * 1024
DEFAULT_PRODUCT_NAME = "stepauth"
#: Suffix → (content type, how such a file begins).
LOGO_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".webp": ("image/webp", (b"RIFF",)),
    ".svg": ("image/svg+xml", (b"<svg", b"<?xml")),
}


@dataclass(frozen=True, slots=True)
class LogoFile:
    """A logo the Provider serves: its bytes, read once at start-up."""

    path: str
    content_type: str
    data: bytes


Logo = LogoFile | str  # a file, or an https URL


@dataclass(frozen=True, slots=True)
class BrandingConfig:
    product_name: str = DEFAULT_PRODUCT_NAME
    logo: Logo | None = None
    primary_colour: str | None = None
    support_url: str | None = None


@dataclass(frozen=True, slots=True)
class ClientBranding:
    """A relying party's own name, logo and colour on its step-up and approval pages."""

    name: str | None = None
    logo: Logo | None = None
    primary_colour: str | None = None


def _https(value: str, key: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"must be an https URL (got {value!r})", key=key)
    return value


def _logo(value: str, key: str, base_dir: Path) -> Logo:
    if "://" in value:
        return _https(value, key)
    path = (base_dir / value).resolve()
    kind = LOGO_TYPES.get(path.suffix.lower())
    if kind is None:
        raise ConfigError(
            f"must be a .png, .svg or .webp file or an https URL (got {value!r})", key=key
        )
    try:
        size = path.stat().st_size
        if size > MAX_LOGO_BYTES:
            raise ConfigError(f"is {size} bytes, at most {MAX_LOGO_BYTES} allowed", key=key)
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {str(path)!r} ({exc.strerror})", key=key) from None
    content_type, magics = kind
    head = data[:256].lstrip()
    if not head.startswith(magics) or (path.suffix.lower() == ".webp" and data[8:12] != b"WEBP"):
        raise ConfigError(f"{str(path)!r} is not a {path.suffix.lower()[1:]} file", key=key)
    return LogoFile(path=str(path), content_type=content_type, data=data)


def _colour(value: str | None, key: str) -> str | None:
    if value is None:
        return None
    if not is_colour(value):
        raise ConfigError(f"must be a colour #rrggbb (got {value!r})", key=key)
    colour = value.lower()
    for other in (BUTTON_TEXT, PAGE_BACKGROUND):
        ratio = contrast_ratio(colour, other)
        if ratio < MIN_TEXT_CONTRAST:
            # rounded down: 4.48:1 must not read as the 4.5:1 it misses
            shown = math.floor(ratio * 10) / 10
            raise ConfigError(
                f"{colour} on {other} is {shown:.1f}:1, needs {MIN_TEXT_CONTRAST:g}:1 "
                "(WCAG 2.2 SC 1.4.3)",
                key=key,
            )
    return colour


def branding(table: BrandingTable | None, base_dir: Path) -> BrandingConfig:
    table = table or BrandingTable()
    return BrandingConfig(
        product_name=table.product_name or DEFAULT_PRODUCT_NAME,
        logo=_logo(table.logo, "branding.logo", base_dir) if table.logo else None,
        primary_colour=_colour(table.primary_colour, "branding.primary_colour"),
        support_url=_https(table.support_url, "branding.support_url")
        if table.support_url
        else None,
    )


def client_branding(
    table: ClientBrandingTable | None, where: str, base_dir: Path
) -> ClientBranding | None:
    if table is None:
        return None
    key = f"{where}.branding"
    return ClientBranding(
        name=table.name,
        logo=_logo(table.logo, f"{key}.logo", base_dir) if table.logo else None,
        primary_colour=_colour(table.primary_colour, f"{key}.primary_colour"),
    )
