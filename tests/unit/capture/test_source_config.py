"""The ``capture`` section: sources validated on load, errors naming the key, secrets from env."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from leadflow.cli import main as leadflow
from services.capture.config import KINDS, load_capture_config, load_sources
from services.capture.sources.auth import hash_api_key, verify_api_key
from shared.config import ConfigError

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "leadflow.yaml"
KEY_HASH = hash_api_key("lf_demo_website")


def keyed(**extra: Any) -> dict[str, Any]:
    return {"type": "api_key", "api_keys": [{"id": "k1", "hash": KEY_HASH}], **extra}


def write(tmp_path: Path, sources: list[dict[str, Any]], **capture: Any) -> Path:
    path = tmp_path / "leadflow.yaml"
    path.write_text(yaml.safe_dump({"capture": {"sources": sources, **capture}}))
    return path


def errors(tmp_path: Path, sources: list[dict[str, Any]], **capture: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        load_capture_config(write(tmp_path, sources, **capture))
    return str(caught.value)


def test_the_example_has_one_source_per_kind_and_validates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = load_capture_config(EXAMPLE)  # capture needs none of the notifier's secrets
    assert {s.kind for s in config.sources} == set(KINDS)
    monkeypatch.setenv("LEADFLOW_DEMO_WEBHOOK_SECRET", "whsec_" + "A" * 44)
    assert leadflow(["check-config", str(EXAMPLE)]) == 0


def test_check_config_names_a_secret_variable_that_is_not_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LEADFLOW_DEMO_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("LEADFLOW_DEMO_WEBHOOK_SECRET_FILE", raising=False)
    assert leadflow(["check-config", str(EXAMPLE)]) == 2
    assert (
        "notifier.subscriptions[0].secret: ${LEADFLOW_DEMO_WEBHOOK_SECRET} is not set"
        in capsys.readouterr().err
    )


def test_a_missing_section_means_no_sources(tmp_path: Path) -> None:
    path = tmp_path / "leadflow.yaml"
    path.write_text("scoring: {}\n")
    assert load_capture_config(path).sources == []


def test_an_unknown_kind_is_named_with_its_path_and_the_choices(tmp_path: Path) -> None:
    sources = [
        {"name": "a", "kind": "json", "auth": keyed()},
        {"name": "b", "kind": "json", "auth": keyed()},
        {"name": "c", "kind": "foo", "auth": keyed()},
    ]
    message = errors(tmp_path, sources)
    assert "capture.sources[2].kind: unknown kind 'foo'; one of " in message
    assert "typeform" in message and "meta_lead_ads" in message


@pytest.mark.parametrize(
    ("source", "where", "problem"),
    [
        ({"name": "Web Site", "kind": "json", "auth": keyed()}, "sources[0].name", "pattern"),
        ({"name": "web", "kind": "json", "auth": {"type": "api_key", "api_keys": [
            {"id": "k1", "hash": "lf_demo_website"}]}},
         "sources[0].auth.api_keys[0].hash", "never the key itself"),
        ({"name": "web", "kind": "json", "auth": {"type": "api_key", "api_keys": [
            {"id": "k1", "hash": KEY_HASH}, {"id": "k1", "hash": KEY_HASH}]}},
         "sources[0].auth.api_keys[1].id", "duplicate key id 'k1'"),
        ({"name": "web", "kind": "json", "auth": {"type": "api_key", "api_keys": []}},
         "sources[0].auth.api_keys", "at least one key"),
        ({"name": "tf", "kind": "typeform", "auth": {"type": "typeform", "secret": "abc"}},
         "sources[0].auth", "secrets never go in the file"),
        ({"name": "tf", "kind": "typeform", "auth": {"type": "typeform"}},
         "sources[0].auth.secret_env", "required for type typeform"),
        ({"name": "tf", "kind": "typeform", "auth": {"type": "typeform",
                                                     "secret_env": "lower_case"}},
         "sources[0].auth.secret_env", "pattern"),
        ({"name": "open", "kind": "json", "auth": {"type": "none", "secret_env": "X"}},
         "sources[0].auth.secret_env", "not used by type none"),
        ({"name": "tf", "kind": "typeform", "auth": {"type": "typeform", "secret_env": "X",
                                                     "tolerance_s": 60}},
         "sources[0].auth.tolerance_s", "not used by type typeform"),
        ({"name": "hs", "kind": "hubspot_forms", "auth": {"type": "typeform", "secret_env": "X"}},
         "sources[0].auth.type", "typeform fits kind typeform only"),
        ({"name": "m", "kind": "meta_lead_ads", "auth": {"type": "meta", "secret_env": "X"}},
         "sources[0].auth.verify_token_env", "required for type meta"),
        ({"name": "m", "kind": "meta_lead_ads", "auth": {"type": "meta", "secret_env": "X",
                                                         "verify_token_env": "Y"}},
         "sources[0].graph", "required"),
        ({"name": "w", "kind": "json", "graph": {"access_token_env": "T"}, "auth": keyed()},
         "sources[0].graph", "not used by kind json"),
        ({"name": "w", "kind": "json", "api": {"access_token_env": "T"}, "auth": keyed()},
         "sources[0].api", "not used by kind json"),
        ({"name": "li", "kind": "linkedin", "auth": keyed(),
          "api": {"access_token_env": "T", "properties": ["email"]}},
         "sources[0].api.properties", "not used by kind linkedin"),
        ({"name": "li", "kind": "linkedin", "auth": keyed(), "api": {"access_token_env": "t"}},
         "sources[0].api.access_token_env", "pattern"),
        ({"name": "g", "kind": "generic", "auth": keyed()},
         "sources[0].mapping", "required for kind generic"),
        ({"name": "g", "kind": "generic", "mapping": {"mail": "a.b"}, "auth": keyed()},
         "sources[0].mapping", "'mail' is not a lead field"),
        ({"name": "g", "kind": "generic", "mapping": {"email": "a..b"}, "auth": keyed()},
         "sources[0].mapping", "bad path"),
        ({"name": "w", "kind": "json", "auth": {"type": "api_key", "allow_query_key": True}},
         "sources[0].auth.api_keys", "required for type api_key"),
    ],
)  # fmt: skip
def test_a_bad_source_is_refused_at_its_key(tmp_path, source, where, problem) -> None:
    message = errors(tmp_path, [source])
    assert f"capture.{where}: " in message and problem in message, message


def test_source_names_are_unique(tmp_path: Path) -> None:
    sources = [{"name": "web", "kind": "json", "auth": keyed()}] * 2
    assert "capture.sources[1].name: duplicate source name 'web' (also sources[0])" in errors(
        tmp_path, sources
    )


def test_csv_limits_are_bounded(tmp_path: Path) -> None:
    assert "capture.csv.max_rows" in errors(tmp_path, [], csv={"max_rows": 0})


def test_check_config_reports_capture_errors(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, [{"name": "x", "kind": "nope", "auth": {"type": "none"}}])
    assert leadflow(["check-config", str(path)]) == 2
    assert "capture.sources[0].kind: unknown kind 'nope'" in capsys.readouterr().err


def test_secrets_come_from_the_environment_and_an_unset_one_makes_the_source_not_ready(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, [
        {"name": "tf", "kind": "typeform",
         "auth": {"type": "typeform", "secret_env": "LEADFLOW_SECRET_TF"}},
        {"name": "sw", "kind": "json",
         "auth": {"type": "standard_webhooks", "secret_env": "LEADFLOW_SECRET_SW"}},
        {"name": "m", "kind": "meta_lead_ads", "graph": {"access_token_env": "META_TOKEN"},
         "auth": {"type": "meta", "secret_env": "META_SECRET", "verify_token_env": "META_VT"}},
    ])  # fmt: skip
    env = {"LEADFLOW_SECRET_TF": " s3cret ", "LEADFLOW_SECRET_SW": "not-whsec!", "META_VT": "v"}
    sources = load_sources(path, env).by_name
    assert sources["tf"].ready and sources["tf"].auth.secret == "s3cret"
    assert "s3cret" not in repr(sources["tf"])
    assert sources["sw"].problems == (
        "LEADFLOW_SECRET_SW is not a Standard Webhooks secret (whsec_<base64>)",
    )
    assert set(sources["m"].problems) == {"META_SECRET is not set", "META_TOKEN is not set"}
    graph = sources["m"].graph
    assert graph is not None and graph.url == "https://graph.facebook.com"


def test_a_source_secret_can_come_from_the_file_its_variable_file_names(tmp_path: Path) -> None:
    path = write(tmp_path, [
        {"name": "tf", "kind": "typeform",
         "auth": {"type": "typeform", "secret_env": "LEADFLOW_SECRET_TF"}},
        {"name": "hs", "kind": "hubspot_contact", "auth": keyed(),
         "api": {"access_token_env": "HS_TOKEN"}},
    ])  # fmt: skip
    (tmp_path / "tf").write_text("s3cret\n")
    (tmp_path / "hs").write_text("pat-na1-x")
    env = {"LEADFLOW_SECRET_TF_FILE": str(tmp_path / "tf"), "HS_TOKEN_FILE": str(tmp_path / "hs")}
    sources = load_sources(path, env).by_name
    assert sources["tf"].ready and sources["tf"].auth.secret == "s3cret"
    api = sources["hs"].fetch_api
    assert api is not None and api.access_token == "pat-na1-x"
    with pytest.raises(ConfigError) as caught:
        load_sources(path, {"LEADFLOW_SECRET_TF_FILE": str(tmp_path / "gone")})
    assert str(caught.value) == (
        f"capture: source tf: LEADFLOW_SECRET_TF_FILE={tmp_path / 'gone'}: cannot read the"
        " file: No such file or directory"
    )


def test_hubspot_and_linkedin_fetch_settings_default_to_the_vendors_apis(tmp_path: Path) -> None:
    path = write(tmp_path, [
        {"name": "hs", "kind": "hubspot_contact", "auth": keyed(),
         "api": {"access_token_env": "HS_TOKEN"}},
        {"name": "li", "kind": "linkedin", "auth": keyed(),
         "api": {"access_token_env": "LI_TOKEN", "api_url": "http://127.0.0.1:9/",
                 "api_version": "202601", "timeout_s": 3}},
    ])  # fmt: skip
    sources = load_sources(path, {"HS_TOKEN": "pat-na1-x"}).by_name
    hubspot = sources["hs"].fetch_api
    assert hubspot is not None and hubspot.url == "https://api.hubapi.com"
    assert hubspot.access_token == "pat-na1-x" and "pat-na1-x" not in repr(sources["hs"])
    assert {"email", "firstname", "hs_lead_status", "jobtitle"} <= set(hubspot.properties)
    linkedin = sources["li"].fetch_api
    assert linkedin is not None
    assert (linkedin.url, linkedin.version) == ("http://127.0.0.1:9", "202601")
    assert linkedin.timeout_s == 3
    # Unset, the source still takes full records; fetch jobs wait (and say why) for the token.
    assert sources["li"].ready and linkedin.access_token is None


def test_a_key_expiring_on_a_date_expires_at_its_midnight_utc(tmp_path: Path) -> None:
    auth = {"type": "api_key", "api_keys": [{"id": "k", "hash": KEY_HASH, "expires": "2027-01-01"}]}
    path = write(tmp_path, [{"name": "w", "kind": "json", "auth": auth}])
    key = load_sources(path, {}).by_name["w"].auth.api_keys[0]
    assert key.expires == datetime(2027, 1, 1, tzinfo=UTC)


def test_keys_new_prints_a_key_and_a_config_line_that_accepts_it(tmp_path: Path, capsys) -> None:
    assert leadflow(["keys", "source", "--id", "web-2026-11", "--expires", "2027-06-01"]) == 0
    lines = capsys.readouterr().out.splitlines()
    key = lines[0].rsplit(" ", 1)[1]
    entry = yaml.safe_load(lines[-1].strip().removeprefix("- "))
    assert entry["id"] == "web-2026-11" and key not in lines[-1]
    path = write(tmp_path, [{"name": "w", "kind": "json",
                             "auth": {"type": "api_key", "api_keys": [entry]}}])  # fmt: skip
    keys = load_sources(path, {}).by_name["w"].auth.api_keys
    now = datetime(2026, 11, 25, tzinfo=UTC)
    assert verify_api_key(key, keys, now).principal == "api_key:web-2026-11"


async def test_capture_refuses_to_start_on_an_invalid_capture_section(tmp_path: Path) -> None:
    from services.capture.config import Settings
    from services.capture.jobs import running_sources
    from services.capture.main import create_app

    path = write(tmp_path, [{"name": "x", "kind": "nope", "auth": {"type": "none"}}])
    create_app(Settings(config_file=path))  # builds (the OpenAPI document needs no config)
    with pytest.raises(ConfigError, match="unknown kind 'nope'"):
        async with running_sources(ConfigError("capture.sources[0].kind: unknown kind 'nope'"))(
            None  # type: ignore[arg-type]
        ):
            pass
