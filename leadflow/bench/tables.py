"""The tables ``leadflow bench`` prints: one column per scenario, medians of the runs."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from leadflow.bench.report import COMMITS, KAFKA_HOPS, get

STAGES = {
    "capture_to_scored": "capture → scored",
    "scored_to_decided": "scored → decided",
    "captured_to_assigned": "captured → assigned",
    "assigned_to_delivered": "assigned → delivered",
    "assigned_to_webhook": "assigned → webhook in",
}


def fmt(value: Any, digits: int = 1) -> str:
    """A figure for a table cell: thousands separated, ``-`` when unknown."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def fmt_ms(value: Any) -> str:
    """Milliseconds with the precision that matters: 0.42, 4.2, 42, 4,200."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-"
    if value < 10:
        return f"{value:.2f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:,.0f}"


def pct(value: Any) -> str:
    """A share of one core, ``-`` when unknown."""
    return "-" if value is None else f"{fmt(value, 0)}%"


def pair(summary: Any, a: str = "p50", b: str = "p99") -> str:
    """``p50 / p99`` of a latency summary."""
    return f"{fmt_ms(get(summary, a))} / {fmt_ms(get(summary, b))}"


Rows = list[tuple[str, list[str]]]


def _table(title: str, first: str, columns: list[str], rows: Rows) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column(first)
    for name in columns:
        table.add_column(name, justify="right")
    for label, cells in rows:
        table.add_row(label, *cells)
    return table


def _markdown(title: str, first: str, columns: list[str], rows: Rows) -> str:
    lines = [f"### {title}", "", "| " + " | ".join([first, *columns]) + " |"]
    lines.append("|---|" + "--:|" * len(columns))
    lines += ["| " + " | ".join([label.strip(), *cells]) + " |" for label, cells in rows]
    return "\n".join(lines) + "\n"


def _sections(doc: dict[str, Any]) -> list[tuple[str, str, list[str], Rows]]:
    """(title, first column, columns, rows) of every table, from the medians."""
    med = doc.get("medians") or {}
    scenarios: dict[str, Any] = med.get("scenarios", {})
    ran = {n: s for n, s in scenarios.items() if not s.get("unavailable")}
    sections = []
    if ran:
        names = list(ran)
        sections.append(("Throughput and latency (ms)", "", names, _scenario_rows(ran)))
        sections.append(
            (
                "CPU seconds per 1,000 leads (% of one core)",
                "process",
                ["idle", *names, "idle after", "peak MiB"],
                _cpu_rows(ran, med),
            )
        )
    sections.append(("Ceilings (same run, same machine)", "", ["value"], _ceiling_rows(med)))
    return sections


def _headline(doc: dict[str, Any]) -> str:
    m, g = doc["machine"], doc["git"]
    return (
        f"Leadflow bench: median of {len(doc['runs'])} run(s);"
        f" {m['nproc']} CPU(s) {m['cpu_model']}, {fmt(m['memory_mib'])} MiB;"
        f" commit {(g['commit'] or '?')[:12]}{' (dirty)' if g['dirty'] else ''}"
    )


def _unavailable(doc: dict[str, Any]) -> list[str]:
    scenarios = get(doc, "medians", "scenarios") or {}
    return [
        f"{n}: unavailable ({s['unavailable']})"
        for n, s in scenarios.items()
        if s.get("unavailable")
    ]


def render(console: Console, doc: dict[str, Any]) -> None:
    """Print the medians as tables."""
    console.print(f"\n[bold]{_headline(doc)}[/bold]")
    for line in _unavailable(doc):
        console.print(f"[yellow]{line}[/yellow]")
    for title, first, columns, rows in _sections(doc):
        console.print(_table(title, first, columns, rows))
    console.print(f"LOST {doc['lost']}   DOUBLED {doc['doubled']}")


def markdown(doc: dict[str, Any]) -> str:
    """The same tables in Markdown, for docs/performance.md."""
    parts = [_headline(doc) + "\n", *(f"{line}\n" for line in _unavailable(doc))]
    parts += [_markdown(*section) for section in _sections(doc)]
    parts.append(f"LOST {doc['lost']}, DOUBLED {doc['doubled']}\n")
    return "\n".join(parts)


def _scenario_rows(scenarios: dict[str, Any]) -> Rows:
    s = list(scenarios.values())
    rows: Rows = [
        ("offered leads/s", [fmt(x.get("offered_rate"), 0) for x in s]),
        ("HTTP requests/s", [fmt(x.get("requests_per_s")) for x in s]),
        ("leads accepted", [fmt(x.get("accepted")) for x in s]),
        ("decided leads/s", [fmt(x.get("throughput_leads_per_s")) for x in s]),
        ("HTTP answer p50 / p99", [pair(x.get("http_ms")) for x in s]),
        ("generator late p50 / p99", [pair(x.get("generator_lag_ms")) for x in s]),
        ("send → decision p50", [fmt_ms(get(x, "end_to_end_ms", "p50")) for x in s]),
        ("  p90", [fmt_ms(get(x, "end_to_end_ms", "p90")) for x in s]),
        ("  p99", [fmt_ms(get(x, "end_to_end_ms", "p99")) for x in s]),
        ("  max", [fmt_ms(get(x, "end_to_end_ms", "max")) for x in s]),
    ]
    for key, label in STAGES.items():
        rows.append((f"{label} p50 / p99", [pair(get(x, "stages_ms", key)) for x in s]))
    webhooks = [
        f"{fmt(get(x, 'stages_ms', 'assigned_to_webhook', 'count'))} / {fmt(x.get('assigned'))}"
        for x in s
    ]
    rows.append(("webhooks in / leads assigned", webhooks))
    rows.append(("lost / doubled", [f"{fmt(x.get('lost'))} / {fmt(x.get('doubled'))}" for x in s]))
    return rows


def _cpu_rows(scenarios: dict[str, Any], med: dict[str, Any]) -> Rows:
    idle = get(med, "ceilings", "idle_cpu_pct") or {}
    after = med.get("idle_after_cpu_pct") or {}
    peak = med.get("peak_rss_mib") or {}
    processes: list[str] = []
    for s in scenarios.values():
        processes += [p for p in s.get("cpu_s", {}) if p not in processes]
    rows: Rows = []
    for proc in processes:
        cells = [
            f"{fmt(get(s, 'cpu_s_per_1000_leads', proc), 3)} ({pct(get(s, 'cpu_util_pct', proc))})"
            for s in scenarios.values()
        ]
        rows.append(
            (proc, [pct(idle.get(proc)), *cells, pct(after.get(proc)), fmt(peak.get(proc))])
        )
    per_request = [fmt(s.get("bench_cpu_us_per_request")) for s in scenarios.values()]
    rows.append(("bench µs CPU/request", ["", *per_request, "", ""]))
    return rows


def _ceiling_rows(med: dict[str, Any]) -> Rows:
    c, r = med.get("ceilings", {}), med.get("ratios", {})
    trivial = c.get("trivial_endpoint", {})
    rows = [
        ("GET /healthz on capture, requests/s", fmt(trivial.get("requests_per_s"))),
        ("GET /healthz p50 / p99 ms", pair(trivial.get("latency_ms"))),
        ("GET /healthz capture CPU µs/request", fmt(get(trivial, "cpu_us_per_request", "capture"))),
        ("broker round trip p50 / p99 ms", pair(get(c, "broker_round_trip", "latency_ms"))),
        ("database commit p50 / p99 ms", pair(get(c, "database_commit", "latency_ms"))),
        (f"floor = {KAFKA_HOPS} round trips + {COMMITS} commits, ms", fmt_ms(r.get("floor_ms"))),
        ("mechanism alone: 3 do-nothing hops, events/s", fmt(get(c, "skeleton", "events_per_s"))),
        ("  CPU ms per event per hop (bench+broker+postgres)",
         fmt(get(c, "skeleton", "cpu_ms_per_event_per_hop_total"), 3)),
        ("single-max decided/s ÷ healthz req/s", fmt(r.get("single_max_vs_trivial_endpoint"), 3)),
        ("single-max HTTP ÷ healthz req/s", fmt(r.get("single_max_http_vs_trivial_endpoint"), 3)),
        ("batch-max ÷ single-max decided/s", fmt(r.get("batch_vs_single_max_decided"), 2)),
        ("batch-max CPU per lead, in do-nothing hops",
         fmt(r.get("batch_max_cpu_per_lead_in_skeleton_hops"), 1)),
        ("single-max CPU per lead, in do-nothing hops",
         fmt(r.get("single_max_cpu_per_lead_in_skeleton_hops"), 1)),
    ]  # fmt: skip
    for name, value in (r.get("end_to_end_p50_vs_floor") or {}).items():
        p99 = get(r, "end_to_end_p99_vs_floor", name)
        rows.append((f"{name} send→decision p50 / p99 ÷ floor", f"{fmt(value)} / {fmt(p99)}"))
    return [(label, [value]) for label, value in rows]
