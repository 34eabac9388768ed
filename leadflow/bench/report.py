"""The bench's JSON document (every figure, the machine, the commit, the settings) and the
ratios of Leadflow's figures to the ceilings measured in the same run."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from leadflow.bench.stats import ratio
from shared import clock

REPO = Path(__file__).resolve().parents[2]
KAFKA_HOPS = 3  # captured, scored, assigned (the last one to the bench's reader)
COMMITS = 3  # capture's insert, the scorer's batch, the router's batch


def machine() -> dict[str, Any]:
    """nproc, CPU model, memory, kernel and Python of the machine the bench ran on."""
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
    except (OSError, StopIteration):
        mem_kib = 0
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_mib": mem_kib // 1024 if mem_kib else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def git() -> dict[str, Any]:
    """The checked-out commit and whether the work tree had changes (read-only git calls)."""

    def run(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    status = run("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": run("rev-parse", "HEAD"),
        "dirty": bool(status) if status is not None else None,
    }


def get(doc: Any, *path: str) -> Any:
    """``doc[path[0]][path[1]]...``, or ``None`` where a level is missing."""
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def ratios(run: dict[str, Any]) -> dict[str, Any]:
    """Leadflow's figures over the ceilings measured in the same run."""
    ceilings, scenarios = run["ceilings"], run["scenarios"]
    trivial = get(ceilings, "trivial_endpoint", "requests_per_s")
    hop = get(ceilings, "broker_round_trip", "latency_ms", "p50")
    commit = get(ceilings, "database_commit", "latency_ms", "p50")
    floor = (
        round(KAFKA_HOPS * hop + COMMITS * commit, 3)
        if hop is not None and commit is not None
        else None
    )
    out: dict[str, Any] = {
        "floor_ms": floor,
        "single_max_vs_trivial_endpoint": ratio(
            get(scenarios, "single-max", "throughput_leads_per_s"), trivial
        ),
        "single_max_http_vs_trivial_endpoint": ratio(
            get(scenarios, "single-max", "requests_per_s"), trivial
        ),
        "batch_vs_single_max_decided": ratio(
            get(scenarios, "batch-max", "throughput_leads_per_s"),
            get(scenarios, "single-max", "throughput_leads_per_s"),
        ),
        "batch_max_cpu_per_lead_in_skeleton_hops": ratio(
            get(scenarios, "batch-max", "cpu_s_per_1000_leads", "leadflow_total"),
            get(ceilings, "skeleton", "cpu_ms_per_event_per_hop_total"),
        ),
        "single_max_cpu_per_lead_in_skeleton_hops": ratio(
            get(scenarios, "single-max", "cpu_s_per_1000_leads", "leadflow_total"),
            get(ceilings, "skeleton", "cpu_ms_per_event_per_hop_total"),
        ),
        "end_to_end_p50_vs_floor": {},
        "end_to_end_p99_vs_floor": {},
    }
    for name, figures in scenarios.items():
        if figures.get("kind") in ("single", "batch") and not figures.get("unavailable"):
            out["end_to_end_p50_vs_floor"][name] = ratio(
                get(figures, "end_to_end_ms", "p50"), floor
            )
            out["end_to_end_p99_vs_floor"][name] = ratio(
                get(figures, "end_to_end_ms", "p99"), floor
            )
    return out


def document(
    *,
    settings: dict[str, Any],
    started_at: datetime,
    runs: list[dict[str, Any]],
    medians: dict[str, Any],
    lost: int,
    doubled: int,
) -> dict[str, Any]:
    return {
        "bench": "leadflow",
        "started_at": started_at.isoformat(),
        "started_at_compact": started_at.strftime("%Y%m%dT%H%M%SZ"),
        "finished_at": clock.now().isoformat(),
        "machine": machine(),
        "git": git(),
        "settings": settings,
        "lost": lost,
        "doubled": doubled,
        "medians": medians,
        "runs": runs,
    }


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
