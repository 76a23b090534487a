"""What the configured branding becomes on the wire: files the Provider serves, and what
each page shows.

Every served file is named after a hash of its content (``theme-<hash>.css``,
``logo-<hash>.svg``), so a browser may keep it for a year and a changed file gets a new
name. A colour reaches the page only through such a style sheet, as CSS custom
properties: the pages' Content-Security-Policy forbids inline styles and scripts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from stepauth.provider.config import BrandingConfig, ClientConfig, LogoFile
from stepauth.provider.config.branding import BUTTON_TEXT

__all__ = ["Asset", "PageBrand", "Themes", "theme_css"]

PREFIX = "/branding/"
_SUFFIX = {"image/png": "png", "image/svg+xml": "svg", "image/webp": "webp"}


@dataclass(frozen=True, slots=True)
class Asset:
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class PageBrand:
    """What ``base.html`` shows: the Provider's name, logo, theme and help link, and on a
    client's step-up and approval pages that client's name and logo."""

    product_name: str
    logo_url: str | None = None
    theme_url: str | None = None
    support_url: str | None = None
    client_name: str | None = None
    client_logo_url: str | None = None
    #: The client configured its own branding: its page says who asks, via whom.
    own: bool = False


def theme_css(colour: str) -> bytes:
    """The style sheet of one primary colour: custom properties stepauth.css reads."""
    return (
        f":root {{ --stepauth-primary: {colour}; --stepauth-on-primary: {BUTTON_TEXT}; }}\n"
    ).encode("ascii")


def _name(stem: str, data: bytes, suffix: str) -> str:
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:20]}.{suffix}"


@dataclass
class Themes:
    """The branding of one Provider: its served files by name and each page's look."""

    provider: PageBrand
    assets: dict[str, Asset] = field(default_factory=dict)
    clients: dict[str, PageBrand] = field(default_factory=dict)
    #: Origins of https logos: the only additions to the pages' ``img-src``.
    image_origins: tuple[str, ...] = ()

    @classmethod
    def build(cls, branding: BrandingConfig, clients: tuple[ClientConfig, ...]) -> Themes:
        themes = cls(provider=PageBrand(product_name=branding.product_name))
        origins: list[str] = []

        def logo(value: LogoFile | str | None) -> str | None:
            if value is None:
                return None
            if isinstance(value, str):
                parts = urlsplit(value)
                origin = f"https://{parts.netloc}"
                if origin not in origins:
                    origins.append(origin)
                return value
            name = _name("logo", value.data, _SUFFIX[value.content_type])
            themes.assets[name] = Asset(value.content_type, value.data)
            return PREFIX + name

        def theme(colour: str | None) -> str | None:
            if colour is None:
                return None
            css = theme_css(colour)
            name = _name("theme", css, "css")
            themes.assets[name] = Asset("text/css; charset=utf-8", css)
            return PREFIX + name

        themes.provider = PageBrand(
            product_name=branding.product_name,
            logo_url=logo(branding.logo),
            theme_url=theme(branding.primary_colour),
            support_url=branding.support_url,
        )
        for client in clients:
            own = client.branding
            if own is None:
                continue
            themes.clients[client.client_id] = PageBrand(
                product_name=branding.product_name,
                logo_url=themes.provider.logo_url,
                theme_url=theme(own.primary_colour) or themes.provider.theme_url,
                support_url=branding.support_url,
                client_name=own.name or client.client_name or client.client_id,
                client_logo_url=logo(own.logo),
                own=True,
            )
        themes.image_origins = tuple(origins)
        return themes

    def for_client(self, client: ClientConfig | None, fallback_name: str | None) -> PageBrand:
        """A client's step-up or approval page: its own look when it has one, else the
        Provider's with the client's name."""
        if client is not None and client.client_id in self.clients:
            return self.clients[client.client_id]
        p = self.provider
        return PageBrand(
            product_name=p.product_name,
            logo_url=p.logo_url,
            theme_url=p.theme_url,
            support_url=p.support_url,
            client_name=fallback_name,
        )
