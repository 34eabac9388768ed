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


def _table(title: str, first: str, columns: list[str]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column(first)
    for name in columns:
        table.add_column(name, justify="right")
    return table


def render(console: Console, doc: dict[str, Any]) -> None:
    """Print the medians as tables."""
    med = doc.get("medians") or {}
    m, g = doc["machine"], doc["git"]
    console.print(
        f"\n[bold]Leadflow bench[/bold]: median of {len(doc['runs'])} run(s);"
        f" {m['nproc']} CPU(s) {m['cpu_model']}, {fmt(m['memory_mib'])} MiB;"
        f" commit {(g['commit'] or '?')[:12]}{' (dirty)' if g['dirty'] else ''}"
    )
    scenarios: dict[str, Any] = med.get("scenarios", {})
    for name, s in scenarios.items():
        if s.get("unavailable"):
            console.print(f"[yellow]{name}: unavailable ({s['unavailable']})[/yellow]")
    ran = {n: s for n, s in scenarios.items() if not s.get("unavailable")}
    if ran:
        console.print(_scenario_table(ran))
        idle = get(med, "ceilings", "idle_cpu_pct") or {}
        after = med.get("idle_after_cpu_pct") or {}
        console.print(_cpu_table(ran, idle, after, med.get("peak_rss_mib") or {}))
    console.print(_ceiling_table(med))
    console.print(f"LOST {doc['lost']}   DOUBLED {doc['doubled']}")


def _scenario_table(scenarios: dict[str, Any]) -> Table:
    table = _table("Throughput and latency (ms)", "", list(scenarios))
    s = list(scenarios.values())
    rows: list[tuple[str, list[str]]] = [
        ("offered leads/s", [fmt(x.get("offered_rate"), 0) for x in s]),
        ("HTTP requests/s", [fmt(x.get("requests_per_s")) for x in s]),
        ("leads accepted", [fmt(x.get("accepted")) for x in s]),
        ("[bold]decided leads/s[/bold]", [fmt(x.get("throughput_leads_per_s")) for x in s]),
        ("HTTP answer p50 / p99", [pair(x.get("http_ms")) for x in s]),
        ("generator late p50 / p99", [pair(x.get("generator_lag_ms")) for x in s]),
        ("[bold]send → decision p50[/bold]", [fmt_ms(get(x, "end_to_end_ms", "p50")) for x in s]),
        ("  p90", [fmt_ms(get(x, "end_to_end_ms", "p90")) for x in s]),
        ("  [bold]p99[/bold]", [fmt_ms(get(x, "end_to_end_ms", "p99")) for x in s]),
        ("  max", [fmt_ms(get(x, "end_to_end_ms", "max")) for x in s]),
    ]
    for key, label in STAGES.items():
        rows.append((f"{label} p50 / p99", [pair(get(x, "stages_ms", key)) for x in s]))
    rows.append(
        (
            "webhooks in / leads assigned",
            [
                f"{fmt(get(x, 'stages_ms', 'assigned_to_webhook', 'count'))}"
                f" / {fmt(x.get('assigned'))}"
                for x in s
            ],
        )
    )
    rows.append(("lost / doubled", [f"{fmt(x.get('lost'))} / {fmt(x.get('doubled'))}" for x in s]))
    for label, cells in rows:
        table.add_row(label, *cells)
    return table


def _cpu_table(
    scenarios: dict[str, Any], idle: dict[str, Any], after: dict[str, Any], peak: dict[str, Any]
) -> Table:
    names = list(scenarios)
    table = _table(
        "CPU seconds per 1,000 leads (% of one core)",
        "process",
        ["idle", *names, "idle after", "peak MiB"],
    )
    processes: list[str] = []
    for s in scenarios.values():
        processes += [p for p in s.get("cpu_s", {}) if p not in processes]
    for proc in processes:
        cells = [
            f"{fmt(get(scenarios[n], 'cpu_s_per_1000_leads', proc), 3)}"
            f" ({pct(get(scenarios[n], 'cpu_util_pct', proc))})"
            for n in names
        ]
        table.add_row(
            proc,
            pct(idle.get(proc)),
            *cells,
            pct(after.get(proc)),
            fmt(peak.get(proc)),
        )
    table.add_row(
        "bench µs CPU/request",
        "",
        *(fmt(scenarios[n].get("bench_cpu_us_per_request")) for n in names),
    )
    return table


def _ceiling_table(med: dict[str, Any]) -> Table:
    c, r = med.get("ceilings", {}), med.get("ratios", {})
    table = _table("Ceilings (same run, same machine) and Leadflow against them", "", [""])
    trivial = c.get("trivial_endpoint", {})
    rows = [
        ("GET /healthz on capture, requests/s", fmt(trivial.get("requests_per_s"))),
        ("GET /healthz p50 / p99 ms", pair(trivial.get("latency_ms"))),
        ("GET /healthz capture CPU µs/request", fmt(get(trivial, "cpu_us_per_request", "capture"))),
        ("broker round trip p50 / p99 ms", pair(get(c, "broker_round_trip", "latency_ms"))),
        ("database commit p50 / p99 ms", pair(get(c, "database_commit", "latency_ms"))),
        (f"floor = {KAFKA_HOPS} round trips + {COMMITS} commits, ms", fmt_ms(r.get("floor_ms"))),
        ("single-max decided/s ÷ healthz req/s", fmt(r.get("single_max_vs_trivial_endpoint"), 3)),
        ("single-max HTTP ÷ healthz req/s", fmt(r.get("single_max_http_vs_trivial_endpoint"), 3)),
        ("batch-max ÷ single-max decided/s", fmt(r.get("batch_vs_single_max_decided"), 2)),
    ]  # fmt: skip
    for name, value in (r.get("end_to_end_p50_vs_floor") or {}).items():
        p99 = get(r, "end_to_end_p99_vs_floor", name)
        rows.append((f"{name} send→decision p50 / p99 ÷ floor", f"{fmt(value)} / {fmt(p99)}"))
    for label, value in rows:
        table.add_row(label, value)
    return table
