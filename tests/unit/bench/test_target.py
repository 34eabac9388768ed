"""The bench's copy of the example config, the --pids option, and unique generated leads."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from leadflow import supervisor
from leadflow.bench.load import LeadFeed
from leadflow.bench.target import HOOK_PATH, bench_config, parse_pids
from leadflow.services import available_services
from leadflow.supervisor import Stack, UpOptions


def test_enabled_webhook_subscriptions_post_to_the_bench_receiver() -> None:
    config = bench_config("http://127.0.0.1:5555")
    subs = config["notifier"]["subscriptions"]
    enabled = [s for s in subs if s.get("enabled", True)]
    assert enabled
    assert all(s["url"] == "http://127.0.0.1:5555" + HOOK_PATH for s in enabled)
    assert all(
        not s.get("url", "").startswith("http://127.0.0.1:5555") for s in subs if s not in enabled
    )
    assert "127.0.0.1:5555" in config["notifier"]["allow_private_targets"]  # the SSRF guard


def test_the_demo_nurture_touch_interval_is_removed() -> None:
    sequences = bench_config("http://127.0.0.1:5555")["nurture"]["sequences"]
    assert sequences
    assert all("touch_interval" not in s for s in sequences)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("capture=10,router=11", {"capture": 10, "router": 11}),
        (" postgres = 7 ", {"postgres": 7}),
        ("", {}),
        (None, {}),
    ],
)
def test_pids_are_name_equals_pid_pairs(text: str | None, expected: dict[str, int]) -> None:
    assert parse_pids(text) == expected


@pytest.mark.parametrize("text", ["capture", "capture=x", "=12x"])
def test_a_malformed_pids_option_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="name=pid"):
        parse_pids(text)


def test_every_lead_a_feed_gives_has_its_own_email_across_feeds() -> None:
    first, second = LeadFeed("a1", seed=1), LeadFeed("a2", seed=1)
    leads = first.take(1500) + [first.one() for _ in range(600)] + second.take(1200)
    emails = [orjson.loads(body)["email"] for body in leads]
    assert len(set(emails)) == len(emails) == 3300


def test_a_service_named_in_without_is_not_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``leadflow bench --without insights`` measures the others with the read model off."""
    started: list[str] = []
    stack = Stack(UpOptions(home=tmp_path, config_file=tmp_path / "c.yaml", without=("insights",)))
    monkeypatch.setattr(supervisor, "port_open", lambda host, port: False)
    monkeypatch.setattr(stack, "start_service", started.append)
    stack.start_services()
    assert started == [s for s in available_services() if s != "insights"]
    assert "insights" in available_services()


def test_a_service_whose_port_was_taken_while_it_was_down_comes_back_on_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outgoing connection may be given the port a stopped service had; a restart then
    moves it instead of failing (seen in CI restarting the scorer)."""
    stack = Stack(UpOptions(home=tmp_path, config_file=tmp_path / "c.yaml"))
    log = tmp_path / "scorer.log"
    log.write_bytes(b"an earlier run: address already in use\n")
    tried: list[int] = []

    def start(name: str) -> None:
        tried.append(stack.ports[name])
        if len(tried) == 1:
            with open(log, "ab") as out:
                out.write(b"[Errno 98] ... address already in use\n")

    def ready(names: list[str]) -> None:
        if len(tried) == 1:
            raise SystemExit("scorer exited with 3")

    monkeypatch.setattr(stack, "start_service", start)
    monkeypatch.setattr(stack, "wait_ready", ready)
    stack.restart_service("scorer")
    assert len(tried) == 2 and tried[0] != tried[1] and stack.ports["scorer"] == tried[1]


def test_a_restart_that_fails_for_another_reason_is_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = Stack(UpOptions(home=tmp_path, config_file=tmp_path / "c.yaml"))
    (tmp_path / "scorer.log").write_bytes(b"an earlier run: address already in use\n")
    tried: list[int] = []
    monkeypatch.setattr(stack, "start_service", lambda name: tried.append(1))

    def ready(names: list[str]) -> None:
        raise SystemExit("scorer exited with 1")

    monkeypatch.setattr(stack, "wait_ready", ready)
    with pytest.raises(SystemExit, match="exited with 1"):
        stack.restart_service("scorer")
    assert tried == [1]  # the old log line about the port does not count
