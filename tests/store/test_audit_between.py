"""The audit log read by time and kind (``Store.audit_between``), on SQLite and PostgreSQL."""

from __future__ import annotations

from stepauth.store import SQLStore

NOW = 1_800_000_000.0


async def test_audit_between_selects_by_time_and_kind(store: SQLStore) -> None:
    for n in range(6):
        kind = "friction" if n % 2 else "authentication"
        await store.append_audit({"event": kind, "n": n}, now=NOW + n)
    # since is included, until is not
    window = await store.audit_between(since=NOW + 1, until=NOW + 5)
    assert [e["n"] for e in window] == [1, 2, 3, 4]
    friction = await store.audit_between(since=NOW, until=NOW + 100, event="friction")
    assert [e["n"] for e in friction] == [1, 3, 5]
    assert [e["at"] for e in friction] == [NOW + 1, NOW + 3, NOW + 5]
    assert friction[0]["seq"] < friction[1]["seq"] < friction[2]["seq"]
    assert await store.audit_between(since=NOW, until=NOW + 100, event="nothing") == []
