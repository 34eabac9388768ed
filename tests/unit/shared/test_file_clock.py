"""The driven clock (LEADFLOW_CLOCK_FILE): one file moves every process's ``now``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadflow.cli import main
from shared import clock

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def restore_clock() -> Iterator[None]:
    previous = clock.install(None)
    yield
    clock.install(previous)


def touch_later(path: Path) -> None:
    """Writes in one test can land in the same mtime tick; the size alone may not change."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def test_a_file_clock_reads_the_time_written_and_follows_it_forward(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    clock.write_clock_file(path, T0)
    driven = clock.FileClock(path)
    assert driven() == T0
    clock.write_clock_file(path, T0 + timedelta(days=1, hours=2))
    touch_later(path)
    assert driven() == T0 + timedelta(days=1, hours=2)


def test_a_file_clock_never_goes_back_and_keeps_its_time_over_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    clock.write_clock_file(path, T0)
    driven = clock.FileClock(path)
    clock.write_clock_file(path, T0 - timedelta(hours=1))
    touch_later(path)
    assert driven() == T0
    path.write_text("not a time at all")
    touch_later(path)
    assert driven() == T0
    path.unlink()
    assert driven() == T0


@pytest.mark.parametrize(
    ("text", "says"),
    [("2026-03-02T08:00:00", "has no time zone"), ("yesterday", "is not an ISO-8601 time")],
)
def test_a_clock_file_that_cannot_be_read_stops_the_start(
    tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "clock"
    path.write_text(text)
    with pytest.raises(clock.FileClockError, match=says):
        clock.FileClock(path)
    with pytest.raises(clock.FileClockError, match="No such file"):
        clock.FileClock(tmp_path / "missing")


def test_an_installed_clock_is_what_now_reads_until_it_is_removed(
    tmp_path: Path, restore_clock: None
) -> None:
    path = tmp_path / "clock"
    clock.write_clock_file(path, T0)
    clock.install(clock.FileClock(path))
    assert clock.now() == T0
    clock.install(None)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=1)


def test_leadflow_clock_sets_and_advances_but_never_goes_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(tmp_path / "clock")
    assert main(["clock", "--file", path, "set", "2026-03-02T09:00:00+01:00"]) == 0
    assert main(["clock", "--file", path, "advance", "1d2h"]) == 0
    out = capsys.readouterr().out.split()
    assert out == ["2026-03-02T08:00:00+00:00", "2026-03-03T10:00:00+00:00"]
    with pytest.raises(SystemExit, match="never goes back"):
        main(["clock", "--file", path, "set", "2026-03-01T00:00:00+00:00"])
    with pytest.raises(SystemExit, match="needs a zone"):
        main(["clock", "--file", path, "set", "2026-03-04T00:00:00"])
    with pytest.raises(SystemExit, match="no unit|duration"):
        main(["clock", "--file", path, "advance", "5"])
