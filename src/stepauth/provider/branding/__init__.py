"""The hosted pages' branding: the Provider's name, logo, colour and help link, and a
relying party's own name and logo on its step-up and approval pages.

* :mod:`.theme` — :class:`Themes`: the files to serve and each page's :class:`PageBrand`;
* :mod:`.current` — the request's branding for the templates (``brand()``), worn for each
  request by :class:`~stepauth.provider.request_frame.RequestFrame`;
* :mod:`.routes` — ``/branding/{name}``.
"""

from __future__ import annotations

from stepauth.provider.branding.current import current_brand
from stepauth.provider.branding.theme import Asset, PageBrand, Themes, theme_css

__all__ = ["Asset", "PageBrand", "Themes", "current_brand", "theme_css"]
