"""Reading CPU ticks and peak memory out of /proc text."""

from __future__ import annotations

import pytest

from leadflow.bench.resources import cpu_used, parse_machine_busy, parse_stat, parse_status_kib

STAT = (
    "4242 (python3) S 4200 4242 4242 0 -1 4194304 12000 0 0 0 "
    "1500 300 70 9 20 0 3 0 123456 1000000 5000 18446744073709551615"
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (STAT, (4200, 1500, 300, 70, 9)),
        (STAT.replace("(python3)", "(postgres: leadflow ) x)"), (4200, 1500, 300, 70, 9)),
    ],
)
def test_stat_fields_are_read_after_the_command_name(
    line: str, expected: tuple[int, int, int, int, int]
) -> None:
    stat = parse_stat(line)
    assert (stat.ppid, stat.utime, stat.stime, stat.cutime, stat.cstime) == expected


STATUS = "Name:\tpostgres\nVmPeak:\t  220000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n"


@pytest.mark.parametrize(("key", "expected"), [("VmHWM", 51200), ("VmRSS", 40960), ("VmX", None)])
def test_status_figures_are_read_in_kib(key: str, expected: int | None) -> None:
    assert parse_status_kib(STATUS, key) == expected


def test_cpu_used_is_the_difference_and_unknown_when_a_sample_is_missing() -> None:
    before = {"capture": 1.0, "router": None, "scorer": 2.0}
    after = {"capture": 3.5, "router": 4.0, "scorer": None, "broker": 9.0}
    assert cpu_used(before, after) == {
        "capture": 2.5,
        "router": None,
        "scorer": None,
        "broker": None,
    }


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("cpu  100 5 50 9000 20 1 4 7 0 0\ncpu0 50 2 25 4500 10 0 2 3 0 0\n", (160, 7)),
        ("cpu  100 5 50 9000 20 1 4\n", (160, 0)),  # an old kernel without steal
    ],
)
def test_machine_busy_time_leaves_out_idle_iowait_and_steal(
    line: str, expected: tuple[int, int]
) -> None:
    assert parse_machine_busy(line) == expected


def test_the_rest_of_the_machine_is_its_busy_time_minus_the_watched_processes() -> None:
    before = {"capture": 1.0, "postgres": 2.0, "machine": 100.0, "steal": 0.0}
    after = {"capture": 2.0, "postgres": 4.0, "machine": 104.5, "steal": 0.25}
    assert cpu_used(before, after) == {
        "capture": 1.0,
        "postgres": 2.0,
        "steal": 0.25,
        "others": 1.5,
    }
