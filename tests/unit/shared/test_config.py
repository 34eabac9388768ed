"""Config-file errors name the file, the key and the problem."""

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from shared.config import ConfigError, ServiceSettings, dotted_path, interpolate, load_section


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    items: list[int] = []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("s: {name: a, items: [1, x]}", "s.items[1]: Input should be a valid integer"),
        ("s: {items: []}", "s.name: Field required"),
        ("s: {name: a, extra: 1}", "s.extra: Extra inputs are not permitted"),
        ("s: [unclosed", "not valid YAML"),
        ("- a list", "top level must be a mapping"),
    ],
)
def test_errors_name_the_file_key_and_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "leadflow.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_section(path, "s", Section)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_section(tmp_path / "nope.yaml", "s", Section)


@pytest.mark.parametrize(
    ("parts", "text"),
    [(("queues", 0, "members", 2), "queues[0].members[2]"), (("a",), "a"), ((), "")],
)
def test_dotted_paths_read_like_yaml_keys(parts: tuple[int | str, ...], text: str) -> None:
    assert dotted_path(parts) == text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_database_urls_get_the_asyncpg_driver(url: str, expected: str) -> None:
    assert ServiceSettings(database_url=url).asyncpg_url == expected


def test_an_unsupported_database_url_is_refused() -> None:
    with pytest.raises(ConfigError, match="unsupported scheme"):
        _ = ServiceSettings(database_url="mysql://x").asyncpg_url


def test_variables_in_values_come_from_the_environment_or_their_default() -> None:
    data = {
        "notifier": {
            "subscriptions": [
                {"url": "http://127.0.0.1:${SINK_PORT:-8099}/hooks", "secret": "${SECRET}"},
                {"url": "http://h:${UNSET:-8099}/x", "hash": "$argon2id$v=19$m=65536$abc"},
            ]
        },
        "n": 3,
    }
    out = interpolate(data, {"SINK_PORT": "18123", "SECRET": "s3"}, Path("f.yaml"))
    subs = out["notifier"]["subscriptions"]
    assert subs[0] == {"url": "http://127.0.0.1:18123/hooks", "secret": "s3"}
    assert subs[1] == {"url": "http://h:8099/x", "hash": "$argon2id$v=19$m=65536$abc"}
    assert out["n"] == 3


def test_an_unset_variable_without_a_default_names_the_key() -> None:
    data = {"notifier": {"subscriptions": [{"url": "http://${HOOK_HOST}/x"}]}}
    with pytest.raises(
        ConfigError, match=r"f.yaml: notifier.subscriptions\[0\].url: \$\{HOOK_HOST\} is not set"
    ):
        interpolate(data, {}, Path("f.yaml"))
