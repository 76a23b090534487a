"""The templates of ``/account`` (with the interaction pages' ``base.html``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from stepauth.provider.interaction.render import TEMPLATES as INTERACTION_TEMPLATES

__all__ = ["HERE", "render_account"]

HERE = Path(__file__).parent

_env = Environment(
    loader=ChoiceLoader(
        [FileSystemLoader(HERE / "templates"), FileSystemLoader(INTERACTION_TEMPLATES)]
    ),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def render_account(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_env.get_template(name).render(**context), status_code=status_code)
