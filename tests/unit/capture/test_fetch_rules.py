"""The fetch jobs' pure rules: back-off, what a vendor API's answer means, the next state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.capture.sources.fetch_rules import (
    BACKOFF_CAP,
    META_TEST_LEADGEN_ID,
    ApiAnswer,
    RetryPolicy,
    backoff,
    is_test_record,
    linkedin_form_outdated,
    meta_error,
    next_state,
    verdict,
)

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_backoff_doubles_from_thirty_seconds_and_stops_at_an_hour() -> None:
    delays = [backoff(n).total_seconds() for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff(10_000) == BACKOFF_CAP  # no overflow however long it failed


def test_backoff_jitter_spreads_retries_up_to_a_quarter() -> None:
    assert backoff(2, 0.25) == timedelta(seconds=75)
    with pytest.raises(ValueError, match="jitter"):
        backoff(1, 0.5)
    with pytest.raises(ValueError, match="attempt"):
        backoff(0)


def test_backoff_follows_the_configured_policy() -> None:
    quick = RetryPolicy(base=timedelta(milliseconds=50), cap=timedelta(milliseconds=200))
    assert [backoff(n, 0, quick).total_seconds() for n in (1, 2, 3, 4)] == [0.05, 0.1, 0.2, 0.2]


@pytest.mark.parametrize(
    ("vendor", "answer", "expected"),
    [
        ("hubspot", ApiAnswer(None), "retry"),  # connection refused, timeout
        ("hubspot", ApiAnswer(503), "retry"),
        ("linkedin", ApiAnswer(500), "retry"),
        ("linkedin", ApiAnswer(429), "retry"),
        ("hubspot", ApiAnswer(408), "retry"),
        ("hubspot", ApiAnswer(404), "not_found"),
        ("linkedin", ApiAnswer(404), "not_found"),
        ("hubspot", ApiAnswer(401), "failed"),  # bad token: a person must fix it
        ("linkedin", ApiAnswer(403), "failed"),
        ("hubspot", ApiAnswer(400), "failed"),
        ("meta", ApiAnswer(400, 100), "not_found"),  # "Object with ID ... does not exist"
        ("meta", ApiAnswer(400, 190), "failed"),  # invalid OAuth token
        ("meta", ApiAnswer(400, 4), "retry"),  # app rate limit, answered as a 400
        ("meta", ApiAnswer(403, 17), "retry"),  # user rate limit
        ("meta", ApiAnswer(400, 99999, transient=True), "retry"),
        ("meta", ApiAnswer(500, 2), "retry"),
    ],
)
def test_verdict(vendor: str, answer: ApiAnswer, expected: str) -> None:
    assert verdict(vendor, answer) == expected  # type: ignore[arg-type]


def test_meta_error_reads_code_and_transience_only_when_present() -> None:
    body = {"error": {"message": "x", "type": "GraphMethodException", "code": 100,
                      "error_subcode": 33, "fbtrace_id": "A"}}  # fmt: skip
    assert meta_error(body) == (100, False)
    assert meta_error({"error": {"code": 2, "is_transient": True}}) == (2, True)
    assert meta_error({"error": {"code": "100"}}) == (None, False)
    assert meta_error(["not", "a", "dict"]) == (None, False)
    assert meta_error(None) == (None, False)


def test_only_metas_dashboard_test_id_is_a_test_record() -> None:
    assert is_test_record("meta", META_TEST_LEADGEN_ID)
    assert not is_test_record("meta", "123123123123")
    assert not is_test_record("hubspot", META_TEST_LEADGEN_ID)


def test_next_state_retries_until_the_policy_gives_up_after_the_window() -> None:
    created = NOW - timedelta(minutes=5)
    assert next_state("retry", 1, created, NOW) == ("pending", NOW + timedelta(seconds=30))
    assert next_state("retry", 3, created, NOW, 0.1) == ("pending", NOW + timedelta(seconds=132))
    assert next_state("not_found", 1, created, NOW) == ("not_found", None)
    assert next_state("failed", 1, created, NOW) == ("failed", None)
    week_old = NOW - timedelta(days=7)
    assert next_state("retry", 40, week_old, NOW) == ("failed", None)
    short = RetryPolicy(give_up_after=timedelta(minutes=1))
    assert next_state("retry", 2, created, NOW, 0, short) == ("failed", None)


def test_a_cached_linkedin_form_of_another_version_is_outdated() -> None:
    assert linkedin_form_outdated({"versionId": 1}, 2)
    assert not linkedin_form_outdated({"versionId": 2}, 2)
    assert not linkedin_form_outdated({"versionId": 1}, None)  # version unknown: trust it
    assert not linkedin_form_outdated({}, 3)
