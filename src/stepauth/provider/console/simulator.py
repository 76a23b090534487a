"""``/admin/policy``: the policy simulator — an action and a context in, the decision and
its reasons out (:func:`stepauth.policy.decide`, :func:`stepauth.policy.explain`).

The policy is the file the applications use: ``$STEPAUTH_POLICY`` (as for ``stepauth
policy explain``); without one the page says so. The context is the JSON of
:meth:`stepauth.policy.Context.from_json` (``amount``, ``currency``, signals, counters…).
Deciding changes nothing (the counter update it returns is shown, never stored), so the
page is a plain GET.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from stepauth.assurance import Ladder
from stepauth.policy import Context, PolicyError, decide, explain, load_policy
from stepauth.provider.console.access import Admin, admin_of
from stepauth.provider.console.render import render_console

__all__ = ["POLICY_ENV", "policy_page"]

POLICY_ENV = "STEPAUTH_POLICY"
_MAX_CONTEXT = 8192


def _simulate(path: Path, action: str, context_text: str, ladder: Ladder) -> dict[str, Any]:
    try:
        policy = load_policy(path, ladder=ladder)
        data = json.loads(context_text) if context_text.strip() else {}
        if not isinstance(data, dict):
            raise PolicyError("the context must be a JSON object")
        decision = decide(policy, action, Context.from_json(data))
    except json.JSONDecodeError as exc:
        return {"error": f"the context is not JSON: {exc.msg} (line {exc.lineno})"}
    except PolicyError as exc:
        return {"error": str(exc)}
    return {
        "decision": decision.to_json(),
        "explained": explain(decision),
        "actions": sorted(policy.actions),
    }


async def policy_page(request: Request) -> Response:
    admin = await admin_of(request)
    if not isinstance(admin, Admin):
        return admin
    configured = os.environ.get(POLICY_ENV, "")
    path = Path(configured) if configured else None
    action = request.query_params.get("action", "").strip()[:128]
    context_text = request.query_params.get("context", "")[:_MAX_CONTEXT]
    result: dict[str, Any] | None = None
    actions: list[str] = []
    if path is not None and path.is_file():
        try:
            actions = sorted(load_policy(path, ladder=admin.state.ladder).actions)
        except PolicyError as exc:
            result = {"error": str(exc)}
        if action and result is None:
            result = _simulate(path, action, context_text, admin.state.ladder)
    return render_console(
        admin,
        "policy.html",
        policy_path=str(path) if path is not None else None,
        found=path is not None and path.is_file(),
        actions=actions,
        action=action,
        context=context_text or "{}",
        result=result,
    )
