"""The console's templates (with the interaction pages' ``base.html``) and formats."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader
from starlette.responses import HTMLResponse

from stepauth.provider.console.access import CONSOLE_FORMS, Admin
from stepauth.provider.i18n.templates import page_environment
from stepauth.provider.interaction.render import TEMPLATES as INTERACTION_TEMPLATES

__all__ = ["HERE", "percent", "render_console", "timestamp"]

HERE = Path(__file__).parent

_env = page_environment(
    ChoiceLoader([FileSystemLoader(HERE / "templates"), FileSystemLoader(INTERACTION_TEMPLATES)])
)


def timestamp(value: float | None) -> str:
    if value is None:
        return "never"
    return datetime.fromtimestamp(value, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def render_console(admin: Admin, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A console page for ``admin`` (its name, CSRF token and console cookie)."""
    html = _env.get_template(name).render(admin=admin.user, csrf=admin.csrf, **context)
    response = HTMLResponse(html, status_code=status_code)
    CONSOLE_FORMS.set_browser_cookie(response, admin.state, admin.browser)
    return response
