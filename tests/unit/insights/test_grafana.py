"""The Grafana dashboard reads only metrics the services export."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import services.insights.jobs  # noqa: F401  (registers the insights gauges)
import shared.observability  # noqa: F401

DASHBOARD = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "insights.json"


def test_every_panel_queries_an_exported_metric() -> None:
    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in doc["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\b(leadflow_[a-z_]+)\b", e)}
    exported = {m.name for m in REGISTRY.collect()}
    assert used and used <= exported, used - exported
    assert doc["uid"] == "leadflow-insights" and len(doc["panels"]) >= 8
