"""The dashboard's pure parts: charts, the filter form, where a sign-in may return to, what
a page shows without leads:read, the speed distribution and breaches per queue."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.insights.domain.facts import LeadFact, Observation
from services.insights.domain.flow import breaches_by_queue
from services.insights.domain.speed import first_contact_distribution
from services.insights.web import charts
from services.insights.web.asked import FilterRefused, asked, read_filters
from services.insights.web.charts import Bar
from services.insights.web.render import content_security_policy, duration, page, percent, raw
from services.insights.web.session import safe_next
from services.insights.web.views import decision_row, describe, stage_of

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)


def contacted_after(seconds: float | None, **kw: object) -> LeadFact:
    first = T0 + timedelta(seconds=seconds) if seconds is not None else None
    return LeadFact(lead_id="L", captured_at=T0, first_contact_at=first, **kw)  # type: ignore[arg-type]


def test_the_speed_distribution_bins_every_lead_once() -> None:
    waits = [60, 300, 301, 3600, 3601, 86400, 86401, None]
    bins = dict(first_contact_distribution([contacted_after(w) for w in waits]))
    assert bins == {"≤ 5 min": 2, "5–60 min": 2, "1–4 h": 1, "4–24 h": 1, "> 1 day": 1,
                    "not yet": 1}  # fmt: skip


def test_breaches_count_in_the_queue_the_lead_is_in() -> None:
    facts = [
        contacted_after(1, queue="uk", breaches=2),
        contacted_after(1, queue="us"),
        contacted_after(1, queue="uk", breaches=1),
        contacted_after(1, breaches=1),
    ]
    assert breaches_by_queue(facts) == {"uk": 3}


def test_bars_scale_to_the_largest_and_escape_labels() -> None:
    svg = str(charts.bars("t", [Bar("<b>", 2, "2"), Bar("x", 1, "1")]))
    assert "&lt;b&gt;" in svg and "<b>" not in svg
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]
    room = charts.WIDTH - charts.LABEL_W - charts.VALUE_W
    assert widths == [room, room / 2]
    assert 'viewBox="0 0 480 68"' in svg and "style=" not in svg  # the CSP allows no style=


def test_an_empty_chart_says_so() -> None:
    assert "no leads" in charts.bars("t", []) and "no leads" in charts.columns("t", [])


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"tz": "Mars/Olympus"}, "tz:"),
        ({"from": "2026-10-05"}, "from:"),  # a day is not a moment
        ({"from": "2026-10-05T00:00:00Z", "to": "2026-10-05T00:00:00Z"}, "to:"),
        ({"rep": "a\x00b"}, "rep:"),
        ({"rep": "x" * 201}, "rep:"),
    ],
)
def test_the_filter_form_refuses_what_the_api_refuses_naming_the_field(
    query: dict[str, str], problem: str
) -> None:
    with pytest.raises(FilterRefused, match=f"^{problem}"):
        read_filters(asked(query))


def test_blank_fields_are_no_filter_and_the_rest_are_the_apis_filters() -> None:
    given = asked({"rep": " ana ", "queue": "", "tz": "Europe/London", "other": "x"})
    assert given == {"rep": "ana", "tz": "Europe/London"}
    f = read_filters({**given, "from": "2026-10-05T00:00:00+01:00"})
    assert (f.rep, f.queue, f.tz) == ("ana", None, ZoneInfo("Europe/London"))
    assert f.start == datetime(2026, 10, 4, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("target", "goes_to"),
    [("/funnel?rep=ana", "/funnel?rep=ana"), ("//evil.example/x", "/"),
     ("https://evil.example/", "/"), ("/\\evil.example", "/"), (None, "/"), ("", "/")],
)  # fmt: skip
def test_a_sign_in_returns_only_to_a_page_of_this_site(target: str | None, goes_to: str) -> None:
    assert safe_next(target) == goes_to


def test_free_text_needs_leads_read() -> None:
    lost = Observation("activity", T0, {"activity": "lost", "reason": "rang Zed at home"})
    assert "Zed" not in describe(lost, personal=False)["detail"]
    assert "rang Zed at home" in describe(lost, personal=True)["detail"]
    trace = {"rep_id": "ana", "queue": "uk", "rule": "gb", "explanation": "Acme Ltd is ana's"}
    assigned = Observation("assigned", T0, trace)
    assert "Acme" not in describe(assigned, personal=False)["detail"]
    assert "Acme" in describe(assigned, personal=True)["detail"]


def test_a_feed_row_names_the_rule_strategy_and_largest_score_reasons() -> None:
    row = decision_row(
        "L1", T0, {"queue": "uk", "rep_id": "ana", "rule": "gb", "strategy": "round_robin",
                   "bucket": "hot", "score": 82},
        {"reasons": [["job_title", "fit", 30], ["visited", "engagement", -5], ["a", "fit", 1],
                     ["b", "fit", 1]]},
    )  # fmt: skip
    assert (row["rule"], row["strategy"], row["score"]) == ("gb", "round_robin", 82)
    assert row["reasons"] == "job_title +30, visited -5, a +1"


@pytest.mark.parametrize(
    ("fact", "stage"),
    [
        (LeadFact("L", captured_at=T0), "lead"),
        (LeadFact("L", captured_at=T0, mql_at=T0, opportunity_at=T0), "opportunity"),
        (LeadFact("L", captured_at=T0, sql_at=T0, lost_at=T0), "lost"),
        (LeadFact("L", captured_at=T0, won_at=T0), "won"),
    ],
)
def test_a_leads_stage_is_the_furthest_it_reached(fact: LeadFact, stage: str) -> None:
    assert stage_of(fact) == stage


def test_figures_are_formatted_for_people_and_kept_raw_for_comparison() -> None:
    assert (percent(0.15), percent(None), duration(45), duration(1126), duration(20051)) == (
        "15.0 %", "–", "45 s", "18.8 min", "5.6 h",
    )  # fmt: skip
    assert (raw(None), raw(0.1), raw(300), raw(True)) == ("null", "0.1", "300", "true")


def test_pages_allow_only_their_own_stylesheet() -> None:
    response = page("login.html", next="/", error="<script>")
    body = bytes(response.body).decode()
    assert "&lt;script&gt;" in body and "<script>" not in body
    csp = response.headers["content-security-policy"]
    assert csp == content_security_policy() and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "script-src" not in csp
