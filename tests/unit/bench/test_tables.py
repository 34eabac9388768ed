"""The tables the bench prints, in Markdown for docs/performance.md."""

from __future__ import annotations

from typing import Any

from leadflow.bench.tables import markdown


def doc(**scenario: Any) -> dict[str, Any]:
    figures = {
        "kind": "single",
        "offered_rate": 200.0,
        "throughput_leads_per_s": 197.3,
        "end_to_end_ms": {"p50": 177.0, "p90": 251.0, "p99": 354.0, "max": 427.0},
        "cpu_s": {"capture": 3.3},
        "cpu_s_per_1000_leads": {"capture": 1.675},
        "cpu_util_pct": {"capture": 33.0},
        "lost": 0,
        "doubled": 0,
        **scenario,
    }
    return {
        "machine": {"nproc": 2, "cpu_model": "Xeon", "memory_mib": 24105},
        "git": {"commit": "30f1d10c63e47779d5b566fd0d5dccfe79f2d8fb", "dirty": False},
        "runs": [{}, {}, {}],
        "lost": 0,
        "doubled": 0,
        "medians": {
            "scenarios": {"single@200/s": figures},
            "ceilings": {"idle_cpu_pct": {"capture": 0.3}},
            "ratios": {"floor_ms": 23.3},
            "peak_rss_mib": {"capture": 124.8},
        },
    }


def test_markdown_names_the_runs_the_machine_and_the_commit() -> None:
    text = markdown(doc())
    assert text.startswith("Leadflow bench: median of 3 run(s); 2 CPU(s) Xeon, 24,105 MiB;")
    assert "commit 30f1d10c63e4" in text and "(dirty)" not in text


def test_markdown_has_one_column_per_scenario_and_a_row_per_figure() -> None:
    lines = markdown(doc()).splitlines()
    assert "|  | single@200/s |" in lines
    assert "| decided leads/s | 197.3 |" in lines
    assert "| send → decision p50 | 177 |" in lines
    assert "| p99 | 354 |" in lines
    assert "| capture | 0% | 1.675 (33%) | - | 124.8 |" in lines
    assert "| floor = 3 round trips + 3 commits, ms | 23.3 |" in lines


def test_an_unavailable_scenario_is_named_instead_of_tabled() -> None:
    text = markdown(doc(unavailable="POST /v1/leads:batch answered 404"))
    assert "single@200/s: unavailable (POST /v1/leads:batch answered 404)" in text
    assert "| decided leads/s |" not in text
