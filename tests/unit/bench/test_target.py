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
