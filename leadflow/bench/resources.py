"""CPU time and peak memory of the processes under test, read from ``/proc`` (Linux only).

A "process" here is a named role: a service, the broker, the webhook receiver, the bench
itself, or PostgreSQL — whose CPU is the postmaster's own plus every child's (the backends
serving each connection and the background workers), including children that already
exited (the kernel adds those to the postmaster's ``cutime``/``cstime`` when it reaps them).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class StatLine:
    """The fields of ``/proc/<pid>/stat`` the bench needs, in clock ticks."""

    ppid: int
    utime: int
    stime: int
    cutime: int
    cstime: int


def parse_stat(text: str) -> StatLine:
    """Parse ``/proc/<pid>/stat`` (the command name may hold spaces and parentheses)."""
    rest = text[text.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    return StatLine(
        ppid=int(rest[1]),
        utime=int(rest[11]),
        stime=int(rest[12]),
        cutime=int(rest[13]),
        cstime=int(rest[14]),
    )


def parse_status_kib(text: str, key: str) -> int | None:
    """A ``kB`` figure (e.g. ``VmHWM``) from ``/proc/<pid>/status``."""
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _stat(pid: int) -> StatLine | None:
    text = _read(PROC / str(pid) / "stat")
    return parse_stat(text) if text else None


def children_of(parent: int) -> list[int]:
    """Live child pids of a process (scans ``/proc``; used for PostgreSQL's backends)."""
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat.ppid == parent:
                found.append(int(entry.name))
    return found


@dataclass(frozen=True)
class Watched:
    """A named process; ``tree`` also counts its children (PostgreSQL)."""

    name: str
    pid: int
    tree: bool = False


def cpu_seconds(proc: Watched) -> float | None:
    """CPU seconds (user + system) the process, and its children for a tree, used so far."""
    own = _stat(proc.pid)
    if own is None:
        return None
    ticks = own.utime + own.stime
    if proc.tree:
        ticks += own.cutime + own.cstime
        for child in children_of(proc.pid):
            stat = _stat(child)
            if stat is not None:
                ticks += stat.utime + stat.stime
    return ticks / CLOCK_TICKS


def peak_rss_mib(proc: Watched) -> float | None:
    """Peak resident memory (VmHWM) in MiB; for a tree, the largest of its processes
    (PostgreSQL's processes share its buffers, so their sum would count them many times)."""
    pids = [proc.pid, *(children_of(proc.pid) if proc.tree else [])]
    peaks = []
    for pid in pids:
        text = _read(PROC / str(pid) / "status")
        kib = parse_status_kib(text, "VmHWM") if text else None
        if kib is not None:
            peaks.append(kib)
    return round(max(peaks) / 1024, 1) if peaks else None


def parse_machine_busy(text: str) -> tuple[int, int]:
    """(busy, steal) clock ticks of all CPUs from the first line of ``/proc/stat``: busy is
    user + nice + system + irq + softirq (not idle, iowait or steal)."""
    fields = [int(x) for x in text.split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    steal = fields[7] if len(fields) > 7 else 0
    return user + nice + system + irq + softirq, steal


def sample(procs: list[Watched]) -> dict[str, float | None]:
    """Every watched process's CPU seconds so far, and the whole machine's as ``machine``
    (and its stolen time as ``steal``: a virtual machine's CPU taken by the host)."""
    found: dict[str, float | None] = {p.name: cpu_seconds(p) for p in procs}
    text = _read(PROC / "stat")
    if text:
        busy, steal = parse_machine_busy(text)
        found["machine"], found["steal"] = busy / CLOCK_TICKS, steal / CLOCK_TICKS
    return found


def cpu_used(
    before: Mapping[str, float | None], after: Mapping[str, float | None]
) -> dict[str, float | None]:
    """CPU seconds used between two samples, per process (``None`` if one was unreadable).

    ``machine`` becomes ``others``: what the rest of the machine used (busy time of every
    CPU minus the watched processes'), so a run disturbed by other work shows it.
    """
    used: dict[str, float | None] = {}
    for name, end in after.items():
        start = before.get(name)
        used[name] = None if start is None or end is None else round(end - start, 3)
    machine = used.pop("machine", None)
    if machine is not None:
        watched = sum(v for k, v in used.items() if v is not None and k != "steal")
        used["others"] = round(max(0.0, machine - watched), 3)
    return used
