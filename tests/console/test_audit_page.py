"""``/admin/audit``: filters, and a bound approval re-verified with a valid/invalid badge."""

from __future__ import annotations

import re

from stepauth.provider.factors.webauthn.transaction_audit import RECORD_KIND
from tests.helpers.account_pages import csrf_of
from tests.helpers.approvals import DETAILS, ORIGIN, RP_ID, approval
from tests.helpers.console_pages import Admin, step_up
from tests.helpers.harness import Provider
from tests.helpers.soft_authenticator import SoftAuthenticator


def _events(html: str) -> list[str]:
    return re.findall(r'<tr data-event="([a-z_]+)">', html)


async def _store_approval(provider: Provider, **changes: object) -> str:
    record = approval(SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN))
    record.update(changes)
    txn = str(record["txn"])
    await provider.store.put(RECORD_KIND, txn, record, expires_at=provider.clock() + 3600)
    return txn


async def test_filter_by_user_and_action(provider: Provider, admin: Admin) -> None:
    victim = await provider.create_user("bob")
    html = (await admin.browser.get(f"/admin/users/{victim.id}")).text
    asked = await admin.browser.post(f"/admin/users/{victim.id}/lock", data={"csrf": csrf_of(html)})
    await step_up(admin.browser, admin.passkey, asked.headers["location"])
    html = (await admin.browser.get(f"/admin/users/{victim.id}")).text
    await admin.browser.post(f"/admin/users/{victim.id}/lock", data={"csrf": csrf_of(html)})

    everything = await admin.browser.get("/admin/audit")
    assert {"authentication", "step_up", "admin_action"} <= set(_events(everything.text))
    bobs = (await admin.browser.get("/admin/audit", params={"user": "bob"})).text
    assert _events(bobs) == ["admin_action"]
    assert f"admin_id={admin.user.id}" in bobs
    assert "stepup_acr=phr" in bobs
    locks = (await admin.browser.get("/admin/audit", params={"action": "lock"})).text
    assert _events(locks) == ["admin_action"]
    steps = (await admin.browser.get("/admin/audit", params={"action": "step_up"})).text
    assert set(_events(steps)) == {"step_up"}
    nobody = (await admin.browser.get("/admin/audit", params={"user": "nobody"})).text
    assert _events(nobody) == []


async def test_valid_approval_gets_the_valid_badge(provider: Provider, admin: Admin) -> None:
    txn = await _store_approval(provider)
    page = await admin.browser.get("/admin/audit", params={"txn": txn})
    assert page.status_code == 200
    assert 'class="badge valid" id="txn-badge">valid<' in page.text
    assert DETAILS[0]["creditorName"] in page.text


async def test_tampered_approval_gets_the_invalid_badge(provider: Provider, admin: Admin) -> None:
    """The amount changed after the user signed: the challenge no longer matches."""
    tampered = [{**DETAILS[0], "instructedAmount": {"currency": "EUR", "amount": "9123.50"}}]
    txn = await _store_approval(provider, authorization_details=tampered)
    page = await admin.browser.get("/admin/audit", params={"txn": txn})
    assert 'class="badge invalid" id="txn-badge">invalid<' in page.text
    assert "Step <strong>challenge</strong>" in page.text


async def test_unknown_transaction_says_so(provider: Provider, admin: Admin) -> None:
    page = await admin.browser.get("/admin/audit", params={"txn": "no-such-txn"})
    assert 'id="txn-missing"' in page.text
    assert "txn-badge" not in page.text


async def test_filters_are_escaped(provider: Provider, admin: Admin) -> None:
    page = await admin.browser.get("/admin/audit", params={"user": '"><script>x</script>'})
    assert "<script>x" not in page.text
    assert "&lt;script&gt;" in page.text


async def test_audit_page_needs_an_admin(provider: Provider) -> None:
    response = await provider.browser.get("/admin/audit")
    assert response.status_code == 303
