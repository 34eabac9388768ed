"""Config-file errors name the file, the key and the problem."""

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from shared.config import (
    ConfigError,
    FromEnvironment,
    ServiceSettings,
    dotted_path,
    interpolate,
    load_section,
    lookup_variable,
    read_section,
)


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


def test_a_variable_can_come_from_the_file_its_name_file_variable_names(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cr3t\n")
    out = interpolate({"a": {"token": "${TOKEN}"}}, {"TOKEN_FILE": str(secret)}, Path("f.yaml"))
    assert out == {"a": {"token": "s3cr3t"}}  # one trailing newline dropped
    assert isinstance(out["a"]["token"], FromEnvironment)


def test_only_a_whole_reference_is_marked_as_coming_from_the_environment() -> None:
    out = interpolate(["${A}", "x${A}", "${A:-d}", "${B:-d}", "plain"], {"A": "1"}, Path("f"))
    assert [isinstance(v, FromEnvironment) for v in out] == [True, False, False, False, False]


def test_an_unreadable_secret_file_names_the_key_the_variable_and_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    data = {"notifier": {"subscriptions": [{"secret": "${CRM}"}]}}
    with pytest.raises(ConfigError) as caught:
        interpolate(data, {"CRM_FILE": str(missing)}, Path("f.yaml"))
    assert str(caught.value) == (
        f"f.yaml: notifier.subscriptions[0].secret: CRM_FILE={missing}: cannot read the file:"
        " No such file or directory"
    )


def test_a_variable_given_both_ways_is_refused() -> None:
    with pytest.raises(ConfigError, match="both CRM and CRM_FILE are set; set one"):
        lookup_variable("CRM", {"CRM": "a", "CRM_FILE": "/x"})


def test_a_service_resolves_only_the_variables_of_its_own_section(tmp_path: Path) -> None:
    path = tmp_path / "leadflow.yaml"
    path.write_text("s: {name: '${NAME}'}\nother: {secret: '${UNSET_SECRET}'}\n")
    assert load_section(path, "s", Section, {"NAME": "capture"}).name == "capture"
    with pytest.raises(ConfigError, match=r"other.secret: \$\{UNSET_SECRET\} is not set"):
        read_section(path, "other", {})


def test_every_setting_can_come_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = tmp_path / "database-url"
    url.write_text("postgresql://leadflow:pw@db:5432/leadflow\n")
    monkeypatch.delenv("LEADFLOW_DATABASE_URL", raising=False)
    monkeypatch.setenv("LEADFLOW_DATABASE_URL_FILE", str(url))
    assert ServiceSettings().database_url == "postgresql://leadflow:pw@db:5432/leadflow"
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", "postgresql://other")
    with pytest.raises(ConfigError, match="both LEADFLOW_DATABASE_URL and"):
        ServiceSettings()


def test_a_database_url_error_does_not_echo_its_password() -> None:
    with pytest.raises(ConfigError) as caught:
        _ = ServiceSettings(database_url="mysql://u:hunter2@h/db").asyncpg_url
    assert "hunter2" not in str(caught.value)
