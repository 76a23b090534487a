"""``stepauth policy explain``: print what an action needs in a context, and why.

::

    stepauth policy explain --action transfer --context ctx.json [--policy PATH] [--json]
    stepauth policy check [--policy PATH]

The policy file defaults to ``$STEPAUTH_POLICY``, else ``./policy.toml``; ``--context -``
reads the context JSON from standard input. A policy file that does not load exits with
status 2 and prints ``stepauth: error: PATH:LINE: key: what is wrong`` on standard error;
a missing one names ``--policy`` and ``$STEPAUTH_POLICY``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from stepauth.policy import Context, Policy, PolicyError, decide, explain, load_policy

__all__ = ["register", "run_check", "run_explain"]

POLICY_ENV = "STEPAUTH_POLICY"


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "policy", help="inspect the action policy"
    )
    commands = parser.add_subparsers(dest="policy_command", required=True)
    explain_parser: argparse.ArgumentParser = commands.add_parser(
        "explain", help="print the decision for an action in a context, and why"
    )
    explain_parser.add_argument("--action", required=True, help="action name, e.g. transfer")
    explain_parser.add_argument(
        "--context", default=None, help="context JSON file ('-' for standard input)"
    )
    _policy_option(explain_parser)
    explain_parser.add_argument("--json", action="store_true", help="print the decision as JSON")
    explain_parser.set_defaults(func=run_explain)
    check_parser: argparse.ArgumentParser = commands.add_parser(
        "check", help="load a policy file and report the first error with its line"
    )
    _policy_option(check_parser)
    check_parser.set_defaults(func=run_check)


def _policy_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy",
        default=None,
        help="policy file (default: $STEPAUTH_POLICY or ./policy.toml)",
    )


def _load(args: argparse.Namespace) -> tuple[Path, Policy]:
    """The policy file (``--policy``, ``$STEPAUTH_POLICY``, ``./policy.toml``), loaded."""
    path = Path(args.policy or os.environ.get(POLICY_ENV) or "policy.toml")
    if not path.is_file():
        raise PolicyError(f"no policy file at {path} (pass --policy PATH or set ${POLICY_ENV})")
    return path, load_policy(path)


def run_check(args: argparse.Namespace) -> int:
    path, policy = _load(args)
    enabled = ", ".join(sorted(policy.exemptions.enabled)) or "none"
    print(
        f"{path}: ok — {len(policy.actions)} actions, {len(policy.rules)} risk rules, "
        f"exemptions: {enabled}"
    )
    return 0


def run_explain(args: argparse.Namespace) -> int:
    _, policy = _load(args)
    decision = decide(policy, args.action, _context(args.context))
    if args.json:
        print(json.dumps(decision.to_json(), indent=2, ensure_ascii=False))
    else:
        print(explain(decision))
    return 0


def _context(source: str | None) -> Context:
    if source is None:
        return Context()
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the context: {exc}", path=source) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(
            f"the context is not JSON: {exc.msg}", line=exc.lineno, path=source
        ) from exc
    return Context.from_json(data)
