"""The API key of ``leadflow bench --target-capture``: required, well-formed, never written
to the JSON file."""

from __future__ import annotations

import pytest
from rich.console import Console

from leadflow.bench.run import BenchOptions, _settings, run_bench
from leadflow.bench.target import external_target


def external(api_key: str | None = None) -> BenchOptions:
    return BenchOptions(
        target_capture="http://127.0.0.1:1", bootstrap="127.0.0.1:2", api_key=api_key
    )


def test_an_external_target_without_a_key_is_refused_before_anything_starts() -> None:
    with pytest.raises(SystemExit, match=r"--api-key KEY or \$LEADFLOW_KEY"):
        run_bench(external(), Console())


def test_a_key_that_is_not_a_bearer_token_is_refused_before_anything_starts() -> None:
    with pytest.raises(SystemExit, match="not a bearer token"):
        run_bench(external("lfk_a\r\nb"), Console())


def test_the_key_is_not_in_the_settings_written_to_the_json_file() -> None:
    opts = external("lfk_secret")
    target = external_target("http://127.0.0.1:1", "127.0.0.1:2", None, {}, "lfk_secret")
    settings = _settings(opts, target)
    assert "api_key" not in settings
    assert "lfk_secret" not in repr(settings)
    assert "lfk_secret" not in repr(opts)
