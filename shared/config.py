"""Settings from the environment, and the YAML config file validated on load.

Nothing outside this module reads ``os.environ``. Every service has its own
``Settings`` subclass; the YAML file holds the business configuration (sources,
scoring, queues, reps, cadences, subscriptions) and each service validates the
section it owns with its own pydantic model through :func:`load_section`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CONFIG_FILE = Path(__file__).resolve().parent.parent / "examples" / "leadflow.yaml"


class ServiceSettings(BaseSettings):
    """What every service needs to run: where Kafka and PostgreSQL are, and its port."""

    model_config = SettingsConfigDict(env_prefix="LEADFLOW_", extra="ignore")

    service_name: str = "leadflow"
    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/leadflow",
        description="PostgreSQL URL (postgresql:// or postgresql+asyncpg://)",
    )
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="host:port[,host:port]")
    kafka_idempotence: bool = Field(
        default=False,
        description="Idempotent producer; turn on for real Kafka (the embedded broker refuses it)",
    )
    kafka_partitions: int = Field(default=6, ge=1, description="Partitions for new topics")
    kafka_replication: int = Field(default=1, ge=1, description="Replication for new topics")
    kafka_fetch_max_wait_ms: int = Field(default=10, ge=1, le=500)
    kafka_fetch_min_bytes: int = Field(
        default=1,
        ge=1,
        description="A fetch waits (up to the max wait) until this much is there: more than"
        " 1 makes batches bigger under load, for a little latency when the load is light",
    )
    kafka_session_timeout_ms: int = Field(
        default=10_000,
        ge=1000,
        description="Consumer session timeout; a dead consumer's partitions move after this",
    )
    kafka_heartbeat_interval_ms: int = Field(default=3000, ge=100)
    kafka_max_batch: int = Field(default=500, ge=1, le=10_000)
    topic_prefix: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9._-]*$",
        description="Put before every topic name and consumer group id on the broker (e.g."
        " `staging.`), so that several deployments or test runs can share one broker; empty:"
        " the contract's names",
    )
    config_file: Path = DEFAULT_CONFIG_FILE
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    db_schema: str | None = Field(
        default=None, description="Schema this service owns; defaults to the service name"
    )
    consumer_group: str | None = Field(
        default=None, description="Kafka consumer group; defaults to the service name"
    )
    outbox_relay_interval_s: float = Field(default=1.0, gt=0)
    db_pool_size: int = Field(default=10, ge=1)
    inbox_keep_days: int = Field(
        default=7, ge=1, description="How long consumed event ids are kept for dedupe"
    )
    outbox_retain_s: float = Field(
        default=600.0,
        ge=0,
        description="Published events are kept at least this long, and until every consuming"
        " group has read them, to republish them on a broker that forgot them",
    )
    outbox_retain_max_s: float = Field(
        default=86_400.0,
        gt=0,
        description="Published events are deleted after this long even if a consuming group"
        " has not read them (a group that is gone for good)",
    )
    outbox_prune_interval_s: float = Field(default=30.0, gt=0)
    broker_watch_interval_s: float = Field(
        default=0.5, gt=0, description="How often the broker's identity and topics are checked"
    )
    republish_settle_s: float = Field(
        default=2.0,
        ge=0,
        description="On a new broker, wait this long before republishing, so every consumer"
        " has noticed it and reads its log from the start",
    )
    readiness_grace_s: float = Field(
        default=3.0,
        gt=0,
        description="/readyz reports Kafka down when the broker has not answered for this long",
    )
    api_keys_file: Path | None = Field(
        default=None,
        description="The key ring every authenticated route checks (hashed API keys, written by"
        " `leadflow keys`); unset and no JWT issuer: every such route answers 401",
    )
    jwt_issuer: str | None = Field(
        default=None, description="Accept JWTs from this issuer (`iss`) besides API keys"
    )
    jwt_audience: str | None = Field(default=None, description="The `aud` a JWT must name")
    jwt_jwks_url: str | None = Field(default=None, description="The issuer's JWKS URL")
    jwt_jwks_file: Path | None = Field(default=None, description="A JWKS file, instead of a URL")
    jwt_scopes_claim: str = Field(
        default="scope", description="The claim holding a token's scopes (string or list)"
    )
    rate_limit_per_s: float = Field(
        default=100.0,
        ge=0,
        description="Requests a second each credential may make on average (0: no limit); a"
        " key's own `rate_per_s` overrides it",
    )
    rate_limit_burst: int = Field(default=200, ge=1, description="Requests allowed in a burst")
    metrics_require_key: bool = Field(
        default=False, description="/metrics answers only to a credential with `metrics:read`"
    )
    metrics_interval_s: float = Field(
        default=5.0, gt=0, description="How often outbox backlog and consumer lag are measured"
    )

    @property
    def asyncpg_url(self) -> str:
        """The SQLAlchemy URL with the asyncpg driver, whatever scheme the user gave."""
        url = self.database_url
        for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        raise ConfigError(f"LEADFLOW_DATABASE_URL: unsupported scheme in {url!r}")


class ConfigError(Exception):
    """The configuration is invalid; the message names the file, the key and the problem."""


M = TypeVar("M", bound=BaseModel)


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse the YAML file into a mapping, or say clearly why not."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    interpolated: dict[str, Any] = interpolate(data, os.environ, path)
    return interpolated


_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")


def interpolate(
    data: Any, environ: Mapping[str, str], path: Path, at: tuple[int | str, ...] = ()
) -> Any:
    """``${NAME}`` and ``${NAME:-default}`` in string values replaced from ``environ``, so
    one file serves several deployments (``leadflow up --webhook-sink-port`` moves the
    example's demo subscriptions this way). Only values are touched, after parsing, so a
    variable never changes the file's structure; an unset variable without a default is an
    error naming the key. Nothing else with a ``$`` changes (password hashes stay as they are).
    """
    if isinstance(data, dict):
        return {k: interpolate(v, environ, path, (*at, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [interpolate(v, environ, path, (*at, i)) for i, v in enumerate(data)]
    if not isinstance(data, str) or "${" not in data:
        return data

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is None:
            raise ConfigError(f"{path}: {dotted_path(list(at))}: ${{{name}}} is not set")
        return default

    return _VARIABLE.sub(value, data)


def validate_section(path: Path, data: dict[str, Any], key: str, model: type[M]) -> M:
    """Validate one top-level section; errors read ``file: key.sub[0].field: problem``."""
    try:
        return model.model_validate(data.get(key) or {})
    except ValidationError as exc:
        problems = [
            f"{path}: {dotted_path((key, *err['loc']))}: {err['msg']}" for err in exc.errors()
        ]
        raise ConfigError("\n".join(problems)) from exc


def load_section(path: Path, key: str, model: type[M]) -> M:
    return validate_section(path, read_config_file(path), key, model)


def dotted_path(parts: tuple[int | str, ...] | list[int | str]) -> str:
    """``("queues", 0, "name")`` -> ``queues[0].name``, the way a user reads a YAML key."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


DURATION_HELP = "write a number and a unit s, m, h, d or w, e.g. '30s', '15m', '2h', '3d', '1h30m'"
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_DURATION_UNITS = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}


def parse_duration(text: str) -> timedelta:
    """The config's one spelling of a duration: '30s', '15m', '2h', '3d', '1w', or combined
    ('1h30m'); m means minutes. Raises ValueError saying what is wrong and what is meant."""
    if not isinstance(text, str):
        raise ValueError(f"duration must be a string ({DURATION_HELP})")
    cleaned = text.strip().lower()
    if not cleaned:
        raise ValueError(f"invalid duration {text!r}: the duration is empty ({DURATION_HELP})")
    if not _DURATION.fullmatch(cleaned):
        raise ValueError(f"invalid duration {text!r} ({DURATION_HELP})")
    try:
        parts = (_DURATION_UNITS[u] * float(n) for n, u in _DURATION_PART.findall(cleaned))
        return sum(parts, timedelta(0))
    except OverflowError:
        raise ValueError(f"duration {text!r} is too long") from None


def duration_text(value: timedelta) -> str:
    """The shortest spelling of a duration in the config's units, e.g. '1h30m'."""
    seconds = round(value.total_seconds())
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out += f"{count}{unit}"
    return out or "0s"
