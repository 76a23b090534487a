"""The templates of ``/account`` (with the interaction pages' ``base.html``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader
from starlette.responses import HTMLResponse

from stepauth.provider.i18n.templates import page_environment
from stepauth.provider.interaction.render import TEMPLATES as INTERACTION_TEMPLATES

__all__ = ["HERE", "render_account"]

HERE = Path(__file__).parent

_env = page_environment(
    ChoiceLoader([FileSystemLoader(HERE / "templates"), FileSystemLoader(INTERACTION_TEMPLATES)])
)


def render_account(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_env.get_template(name).render(**context), status_code=status_code)
