"""``GET /branding/{name}``: the theme style sheets and logo files of the configuration.

The name is only ever a key of the files built at start-up (:class:`.Themes`): nothing
from the request reaches the file system, so ``../`` finds nothing. An SVG logo is sent
with ``default-src 'none'; sandbox`` (the app's security headers,
:mod:`stepauth.provider.app`): opened on its own it runs no script and loads nothing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from stepauth.provider.branding.theme import Themes

__all__ = ["routes"]

#: Named after their content: a changed file has a new name.
_IMMUTABLE = "public, max-age=31536000, immutable"


async def branding_file(request: Request) -> Response:
    themes: Themes = request.app.state.branding
    asset = themes.assets.get(request.path_params["name"])
    if asset is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(
        asset.data,
        media_type=asset.content_type,
        headers={"cache-control": _IMMUTABLE, "content-disposition": "inline"},
    )


routes: list[BaseRoute] = [
    Route("/branding/{name}", branding_file, methods=["GET", "HEAD"], name="branding_file")
]
