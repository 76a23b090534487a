"""The friction report over records (:mod:`stepauth.audit.friction`): exact numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from stepauth.audit.friction import TOTAL, ActionDay, friction_report, percentile, report_json
from stepauth.audit.friction_records import SIGN_IN, action_of, friction_record
from stepauth.errors import StepAuthError

DAY1 = datetime(2026, 12, 1, 9, tzinfo=UTC).timestamp()
DAY2 = datetime(2026, 12, 2, 9, tzinfo=UTC).timestamp()
TTL = 600.0
PAY = "payment_initiation"


class Log:
    """Records as the audit log returns them (``at``, ``seq``)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def add(self, at: float, stage: str, **fields: Any) -> None:
        record = friction_record(stage, client_id="bank-app", **fields)
        self.records.append({**record, "at": at, "seq": len(self.records) + 1})

    def prompt(self, at: float, ix: str, action: str = PAY) -> None:
        self.add(at, "request", action=action, result="prompted", ix=ix, expires_at=at + TTL)

    def complete(self, at: float, ix: str, seconds: float, action: str = PAY) -> None:
        self.add(at + seconds, "factor", action=action, ix=ix, factor="totp", result="success")
        self.add(at + seconds, "completed", action=action, ix=ix, seconds=seconds, acr_after="2fa")

    def fail(self, at: float, ix: str, factor: str, *, locked: bool = False) -> None:
        result = "locked" if locked else "failure"
        self.add(at, "factor", action=PAY, ix=ix, factor=factor, result=result)


def _row(rows: list[ActionDay], action: str, day: str = TOTAL) -> ActionDay:
    (row,) = [r for r in rows if r.action == action and r.day == day]
    return row


def test_completed_abandoned_failed_and_rates_are_exact() -> None:
    """5 completed (10, 20, 30, 40, 100 s), 2 abandoned, 1 failed after a lockout, 1 pending,
    1 refused unmeetable, 1 answered by the session: every number follows."""
    log = Log()
    for n, seconds in enumerate((10, 20, 30, 40, 100)):
        log.prompt(DAY1 + n, f"c{n}")
        log.complete(DAY1 + n, f"c{n}", seconds)
    log.prompt(DAY1 + 10, "a1")
    log.prompt(DAY1 + 11, "a2")
    log.prompt(DAY1 + 12, "f1")
    log.fail(DAY1 + 13, "f1", "totp")
    log.fail(DAY1 + 14, "f1", "totp", locked=True)
    log.fail(DAY1 + 15, "c0", "password")  # a failure before a completion stays a failure
    log.prompt(DAY1 + 5000, "p1")
    log.add(DAY1 + 20, "request", action=PAY, result="refused_unmeetable")
    log.add(DAY1 + 21, "request", action=PAY, result="satisfied")

    now = DAY1 + 5100  # a1, a2, f1 expired; p1 is still open
    rows = friction_report(log.records, since=DAY1 - 3600, until=DAY1 + 86_000, now=now)
    row = _row(rows, PAY)
    assert row.attempts == 11
    assert row.prompts == 9
    assert row.prompt_rate == 9 / 11
    assert (row.completed, row.abandoned, row.failed, row.pending) == (5, 2, 1, 1)
    assert row.refused_unmeetable == 1
    assert row.avoided_reuse == 1
    assert row.settled == 8
    assert row.completion_rate == 5 / 8
    assert row.abandonment_rate == 2 / 8
    assert dict(row.failures_by_factor) == {"totp": 2, "password": 1}
    assert row.median_seconds == 30.0
    assert row.p90_seconds == 100.0  # nearest rank: the ⌈0.9·5⌉ = 5th smallest
    day = _row(rows, PAY, "2026-12-01")
    assert day.to_json() == {**row.to_json(), "day": "2026-12-01"}


def test_an_interaction_expires_exactly_at_its_ttl() -> None:
    log = Log()
    log.prompt(DAY1, "x")
    open_ = friction_report(log.records, since=DAY1, until=DAY1 + 1, now=DAY1 + TTL - 1)
    assert (_row(open_, PAY).pending, _row(open_, PAY).abandoned) == (1, 0)
    assert _row(open_, PAY).completion_rate is None  # nothing settled yet: no rate
    expired = friction_report(log.records, since=DAY1, until=DAY1 + 1, now=DAY1 + TTL)
    assert (_row(expired, PAY).pending, _row(expired, PAY).abandoned) == (0, 1)
    assert _row(expired, PAY).abandonment_rate == 1.0


def test_rows_per_day_and_per_action_with_the_total_first() -> None:
    log = Log()
    log.prompt(DAY1, "d1")
    log.complete(DAY1, "d1", 12)
    log.prompt(DAY2, "d2")
    log.complete(DAY2, "d2", 30)
    log.add(DAY2, "request", action="urn:stepauth:acr:2fa", result="satisfied")
    rows = friction_report(log.records, since=DAY1 - 10, until=DAY2 + 10, now=DAY2 + 10)
    assert [(r.action, r.day) for r in rows] == [
        (PAY, TOTAL),
        (PAY, "2026-12-01"),
        (PAY, "2026-12-02"),
        ("urn:stepauth:acr:2fa", TOTAL),
        ("urn:stepauth:acr:2fa", "2026-12-02"),
    ]
    assert _row(rows, PAY).median_seconds == 21.0  # the mean of the middle two
    assert _row(rows, PAY, "2026-12-02").seconds == [30.0]
    document = report_json(rows, since=DAY1 - 10, until=DAY2 + 10)
    assert [a["action"] for a in document["actions"]] == [PAY, "urn:stepauth:acr:2fa"]
    assert document["actions"][0]["total"]["completed"] == 2
    assert [d["day"] for d in document["actions"][0]["days"]] == ["2026-12-01", "2026-12-02"]


def test_the_period_counts_requests_made_in_it_and_their_later_outcomes() -> None:
    log = Log()
    log.prompt(DAY1 - 100, "before")
    log.prompt(DAY1 + 100, "inside")
    log.complete(DAY1 + 100, "inside", 700)  # completed after ``until``: still counted
    until = DAY1 + 200
    rows = friction_report(log.records, since=DAY1, until=until, now=DAY1 + 10_000)
    row = _row(rows, PAY)
    assert (row.attempts, row.prompts, row.completed) == (1, 1, 1)


def test_a_second_request_handed_a_pending_prompt_counts_as_reuse() -> None:
    """Identical bound requests share one prompt: one prompt, the other avoided by reuse."""
    log = Log()
    log.prompt(DAY1, "shared")
    log.prompt(DAY1 + 2, "shared")
    log.complete(DAY1, "shared", 15)
    row = _row(friction_report(log.records, since=DAY1, until=DAY2, now=DAY2), PAY)
    assert (row.attempts, row.prompts, row.avoided_reuse, row.completed) == (2, 1, 1, 1)
    assert row.prompt_rate == 0.5


def test_app_reports_add_avoided_prompts_and_executions() -> None:
    log = Log()
    log.prompt(DAY1, "p")
    log.complete(DAY1, "p", 9)
    log.add(DAY1 + 1, "app", action=PAY, kind="prompt_avoided", reason="exemption")
    log.add(DAY1 + 2, "app", action=PAY, kind="prompt_avoided", reason="exemption")
    log.add(DAY1 + 3, "app", action=PAY, kind="prompt_avoided", reason="fresh_session")
    log.add(DAY1 + 4, "app", action=PAY, kind="action_executed")
    row = _row(friction_report(log.records, since=DAY1, until=DAY2, now=DAY2), PAY)
    assert (row.attempts, row.prompts) == (4, 1)
    assert (row.avoided_exemption, row.avoided_reuse, row.executed_after_step_up) == (2, 1, 1)
    assert row.prompt_rate == 0.25


def test_a_refusal_inside_an_interaction_settles_it() -> None:
    log = Log()
    log.prompt(DAY1, "u")
    log.add(DAY1 + 5, "refused", action=PAY, ix="u", result="refused_unmeetable")
    row = _row(friction_report(log.records, since=DAY1, until=DAY2, now=DAY1 + 6), PAY)
    assert (row.prompts, row.refused_unmeetable, row.pending, row.settled) == (1, 1, 0, 1)
    assert row.completion_rate == 0.0


def test_other_audit_events_and_an_empty_log_give_no_rows() -> None:
    other = [{"event": "authentication", "result": "failure", "at": DAY1, "seq": 1}]
    assert friction_report(other, since=0, until=DAY2, now=DAY2) == []
    assert friction_report([], since=0, until=DAY2, now=DAY2) == []


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]  # 1..10
    assert percentile(values, 90) == 9.0
    assert percentile(values, 50) == 5.0
    assert percentile([7.0], 90) == 7.0
    assert percentile([], 90) is None


def test_action_is_the_details_types_else_the_acr_else_sign_in() -> None:
    details = [{"type": "payment_initiation"}, {"type": "account_information"}]
    assert action_of(authorization_details=details, acr=["x"]) == (
        "account_information+payment_initiation"
    )
    assert action_of(authorization_details=None, acr=["urn:a", "urn:b"]) == "urn:a urn:b"
    assert action_of(authorization_details=[], acr=()) == SIGN_IN


def test_a_record_keeps_named_fields_only_and_bounds_them() -> None:
    record = friction_record(
        "request", action="a" * 500, password="never", asked=["x"] * 40, client_id=None
    )
    assert record == {
        "event": "friction",
        "stage": "request",
        "action": "a" * 128,
        "asked": ["x"] * 16,
    }
    with pytest.raises(StepAuthError):
        friction_record("nonsense")
