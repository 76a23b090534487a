"""``/admin/clients`` (read-only, no secret), ``/admin/keys`` (rotate needs a fresh passkey)
and ``/admin/policy`` (the simulator: decide + explain over ``$STEPAUTH_POLICY``)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from tests.helpers.account_pages import csrf_of
from tests.helpers.console_pages import Admin, audit_rows, step_up
from tests.helpers.harness import CONFIDENTIAL, SECRET, Provider

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.toml"


def _active(html: str) -> set[str]:
    return set(re.findall(r'<tr data-kid="([^"]+)" data-state="active">', html))


async def test_clients_page_explains_settings_and_hides_secrets(
    provider: Provider, admin: Admin
) -> None:
    page = await admin.browser.get("/admin/clients")
    assert page.status_code == 200
    assert f'data-client-id="{CONFIDENTIAL}"' in page.text
    assert "set (not shown)" in page.text
    assert "token_endpoint_auth_method" in page.text
    assert "RFC 9449" in page.text  # each setting says what it means
    assert SECRET not in page.text


async def test_keys_page_lists_keys_without_private_parts(provider: Provider, admin: Admin) -> None:
    await provider.state.keys.ensure()  # as ``stepauth serve`` does before it starts
    page = await admin.browser.get("/admin/keys")
    assert page.status_code == 200
    assert _active(page.text)
    assert '"d"' not in page.text
    assert "private_enc" not in page.text


async def test_rotate_needs_a_fresh_passkey_then_rotates_and_is_audited(
    provider: Provider, admin: Admin
) -> None:
    await provider.state.keys.ensure()
    page = await admin.browser.get("/admin/keys")
    before = _active(page.text)
    asked = await admin.browser.post("/admin/keys/rotate", data={"csrf": csrf_of(page.text)})
    assert asked.status_code == 303
    location = asked.headers["location"]
    assert location.startswith("/admin/reauth?next=%2Fadmin%2Fkeys")
    assert (
        "Rotating the signing keys needs your passkey." in (await admin.browser.get(location)).text
    )
    assert _active((await admin.browser.get("/admin/keys")).text) == before  # not yet
    await step_up(admin.browser, admin.passkey, location)
    page = await admin.browser.get("/admin/keys")
    done = await admin.browser.post("/admin/keys/rotate", data={"csrf": csrf_of(page.text)})
    assert done.headers["location"] == "/admin/keys?done=rotated"
    after = _active((await admin.browser.get("/admin/keys")).text)
    assert after
    assert after.isdisjoint(before)
    (row,) = await audit_rows(provider, "admin_action")
    assert (row["action"], row["admin_id"], row["stepup_acr"]) == (
        "rotate_keys",
        admin.user.id,
        "phr",
    )
    assert set(row["before"].split(", ")) == before
    assert set(row["after"].split(", ")) == after


async def test_rotate_without_csrf_is_refused(provider: Provider, admin: Admin) -> None:
    await provider.state.keys.ensure()
    before = _active((await admin.browser.get("/admin/keys")).text)
    response = await admin.browser.post("/admin/keys/rotate", data={})
    assert response.status_code == 403
    assert _active((await admin.browser.get("/admin/keys")).text) == before


async def test_policy_simulator_decides_and_explains(
    provider: Provider, admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPAUTH_POLICY", str(EXAMPLE_POLICY))
    form = await admin.browser.get("/admin/policy")
    assert "transfer" in form.text
    stepped = await admin.browser.get(
        "/admin/policy",
        params={"action": "transfer", "context": '{"amount": "500", "new_device": true}'},
    )
    assert 'id="requirement">phr within 300 s<' in stepped.text
    assert "context.new_device is true" in unescape(stepped.text)
    exempt = await admin.browser.get(
        "/admin/policy", params={"action": "transfer", "context": '{"amount": "20"}'}
    )
    assert 'id="requirement">none<' in exempt.text
    assert 'id="exempt">low_value<' in exempt.text


async def test_policy_simulator_reports_bad_input(
    provider: Provider, admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPAUTH_POLICY", str(EXAMPLE_POLICY))
    bad_json = await admin.browser.get(
        "/admin/policy", params={"action": "transfer", "context": "{amount"}
    )
    assert "the context is not JSON" in bad_json.text
    unknown = await admin.browser.get("/admin/policy", params={"action": "no_such_action"})
    assert 'role="alert"' in unknown.text


async def test_policy_simulator_without_a_policy_file(
    provider: Provider, admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STEPAUTH_POLICY", raising=False)
    page = await admin.browser.get("/admin/policy", params={"action": "transfer"})
    assert 'id="no-policy"' in page.text
