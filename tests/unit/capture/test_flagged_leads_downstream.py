"""Issue 10: a lead kept with flagged values (no valid phone, an unknown country, raw values
in ``data_quality``) travels in LeadCaptured and is read by the scorer and the router like any
other lead: their readers tolerate the new fields and the empty ones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from services.capture.domain.cleaning import clean_lead
from services.router.config.model import load_routing_config, to_domain
from services.router.domain.routing import Assigned, route_lead
from services.scorer.config import load_scoring_model
from shared.contracts import EVENT_TYPES, ContactSnapshot, LeadCaptured, LeadProfile, decode, encode

SECTIONS = Path(__file__).resolve().parents[3] / "examples" / "sections"
NOW = datetime(2026, 1, 12, 10, tzinfo=UTC)


def flagged_event_profile() -> dict[str, object]:
    lead = clean_lead({
        "email": "ana@acme-shoes.example", "phone": "+44 20 7183 875", "country": "Narnia",
        "company_size": "lots", "interest": "shoes", "first_name": "ANA",
    })  # fmt: skip
    assert lead.phone is None and len(lead.data_quality) == 3
    event = LeadCaptured(
        lead_id="6f1c2a9e-3b7d-4c51-9a0e-2d8b7f4e1c30",
        captured_at=NOW,
        lead=LeadProfile.model_validate(lead.as_profile()),
    )
    _, raw = encode(event, source="capture", time=NOW)
    received = decode(raw, EVENT_TYPES).data
    assert isinstance(received, LeadCaptured)
    return received.lead.model_dump(mode="json")


def test_the_scorer_scores_a_flagged_lead() -> None:
    from services.scorer.domain import score_lead

    model = load_scoring_model(SECTIONS / "scorer.yaml")
    score = score_lead(flagged_event_profile(), [], model, NOW)
    assert score.bucket  # scored and bucketed, not refused


def test_the_router_routes_a_flagged_lead_and_the_rep_sees_the_raw_phone() -> None:
    routing = to_domain(load_routing_config(SECTIONS / "router.yaml"))
    profile = flagged_event_profile()
    decision = route_lead(profile, "warm", routing, {}, {}, NOW)
    assert isinstance(decision, Assigned), decision
    contact = ContactSnapshot.of(LeadProfile.model_validate(profile))
    assert (contact.email, contact.phone) == ("ana@acme-shoes.example", None)
    assert contact.phone_raw == profile["phone_raw"] == "+44 20 7183 875"
