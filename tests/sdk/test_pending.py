"""Pending actions: single use, never an open redirect, POSTs only through confirmation."""

from __future__ import annotations

import pytest

from stepauth.sdk.authorize import build_authorization_request
from stepauth.sdk.pending import MemoryPendingStore, PendingAction, render_confirm_page, safe_path


def action(**kw: object) -> PendingAction:
    request = build_authorization_request(
        authorization_endpoint="https://op.example/authorize",
        client_id="c",
        redirect_uri="https://rp.example/cb",
    )
    args: dict[str, object] = {
        "request": request,
        "method": "POST",
        "path": "/transfer",
        "form": (("amount", '100"><script>alert(1)</script>'),),
        "subject": "u1",
        "created_at": 10.0,
    }
    args.update(kw)
    return PendingAction(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://app.example/transfer?x=1", "/transfer?x=1"),
        ("https://evil.example//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_resume_target_is_always_a_local_path(url: str, expected: str) -> None:
    """An open redirect through the resume URL is impossible."""
    assert safe_path(url) == expected


def test_pending_action_is_taken_once() -> None:
    store = MemoryPendingStore()
    store.put("s1", action(), expires_at=100)
    assert store.take("s1", now=20) is not None
    assert store.take("s1", now=20) is None


def test_expired_pending_action_is_gone() -> None:
    store = MemoryPendingStore()
    store.put("s1", action(), expires_at=100)
    assert store.take("s1", now=100) is None


def test_confirm_page_escapes_the_replayed_form() -> None:
    page = render_confirm_page(action())
    assert "<script>" not in page
    assert 'value="100&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page
    assert '<form method="post" action="/transfer">' in page
