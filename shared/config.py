"""Settings from the environment, and the YAML config file validated on load.

Nothing outside this module reads ``os.environ``. Every service has its own
``Settings`` subclass; the YAML file holds the business configuration (sources,
scoring, queues, reps, cadences, subscriptions) and each service validates the
section it owns with its own pydantic model through :func:`load_section`.

Secrets never sit in the file. A secret-typed value (:data:`SecretReference`) must be a
``${NAME}`` reference, and every ``${NAME}`` (and every ``LEADFLOW_*`` setting) can come
from the variable itself or from a file named by ``NAME_FILE`` (the Docker and Kubernetes
secret-file convention): one rule for every secret, whatever service reads it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, Field, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

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
    clock_file: Annotated[Path | None, BeforeValidator(lambda v: v or None)] = Field(
        default=None,
        description="Run on the time written in this file instead of the real clock (tests and"
        " demos; `leadflow clock set|advance` writes it); unset: the real clock",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    process_nice: int = Field(
        default=0,
        ge=0,
        le=19,
        description="Lower the process's CPU priority by this much (Unix nice) when it runs as"
        " `leadflow run`: for background work sharing a machine with the latency path",
    )
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
        scheme = url.partition("://")[0] if "://" in url else "(none)"
        raise ConfigError(f"LEADFLOW_DATABASE_URL: unsupported scheme {scheme!r}")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """``LEADFLOW_<SETTING>_FILE`` beside the plain variables (see :func:`lookup_variable`)."""
        files = SettingFilesSource(settings_cls)
        return init_settings, env_settings, files, dotenv_settings, file_secret_settings


class SettingFilesSource(PydanticBaseSettingsSource):
    """Each setting from the file ``LEADFLOW_<SETTING>_FILE`` names, e.g.
    ``LEADFLOW_DATABASE_URL_FILE=/run/secrets/db-url``: a Kubernetes Secret mounted as a
    file never shows in ``/proc/<pid>/environ`` or ``kubectl describe``."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every field at once

    def __call__(self) -> dict[str, Any]:
        prefix = str(self.settings_cls.model_config.get("env_prefix") or "")
        found: dict[str, Any] = {}
        for name in self.settings_cls.model_fields:
            value = lookup_variable(f"{prefix}{name.upper()}", os.environ, files_only=True)
            if value is not None:
                found[name] = value
        return found


class ConfigError(Exception):
    """The configuration is invalid; the message names the file, the key and the problem."""


M = TypeVar("M", bound=BaseModel)


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse the YAML file into a mapping, or say clearly why not. ``${...}`` references are
    left as written: :func:`read_section` resolves one section's, so a service needs only
    the variables of the section it owns (capture never sees the notifier's secrets)."""
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
    return data


def read_section(path: Path, key: str, environ: Mapping[str, str] | None = None) -> Any:
    """One top-level section of the file, its ``${...}`` references resolved."""
    section = read_config_file(path).get(key)
    return interpolate(section, os.environ if environ is None else environ, path, (key,))


_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")
_REFERENCE = re.compile(r"\$\{[A-Z_][A-Z0-9_]*\}")
FILE_SUFFIX = "_FILE"


class FromEnvironment(str):
    """A config value that was one whole ``${NAME}`` reference in the file, so a validator
    can tell a secret given the right way from one written inline (:data:`SecretReference`);
    pydantic turns it into a plain ``str``."""

    __slots__ = ()


def lookup_variable(
    name: str, environ: Mapping[str, str], *, files_only: bool = False
) -> str | None:
    """``NAME``'s value: the variable itself, or the content of the file ``NAME_FILE``
    names (one trailing newline dropped, as ``echo`` and editors leave one); None when
    neither is set. Both set, or an unreadable file, is a ConfigError naming them."""
    file_name = environ.get(name + FILE_SUFFIX)
    if file_name is None:
        return None if files_only else environ.get(name)
    if name in environ:
        raise ConfigError(f"both {name} and {name}{FILE_SUFFIX} are set; set one")
    try:
        text = Path(file_name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{name}{FILE_SUFFIX}={file_name}: cannot read the file: {why}") from exc
    return text.removesuffix("\n").removesuffix("\r")


def interpolate(
    data: Any, environ: Mapping[str, str], path: Path, at: tuple[int | str, ...] = ()
) -> Any:
    """``${NAME}`` and ``${NAME:-default}`` in string values replaced from ``environ`` (or
    the file ``NAME_FILE`` names, see :func:`lookup_variable`), so one file serves several
    deployments (``leadflow up --webhook-sink-port`` moves the example's demo subscriptions
    this way) and holds no secret. Only values are touched, after parsing, so a variable
    never changes the file's structure; an unset variable without a default is an error
    naming the key. A value that is one whole ``${NAME}`` comes back as
    :class:`FromEnvironment`. Nothing else with a ``$`` changes (password hashes stay).
    """
    if isinstance(data, dict):
        return {k: interpolate(v, environ, path, (*at, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [interpolate(v, environ, path, (*at, i)) for i, v in enumerate(data)]
    if not isinstance(data, str) or "${" not in data:
        return data

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        try:
            found = lookup_variable(name, environ)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {dotted_path(list(at))}: {exc}") from None
        if found is not None:
            return found
        if default is None:
            raise ConfigError(
                f"{path}: {dotted_path(list(at))}: ${{{name}}} is not set (set {name}, or"
                f" {name}{FILE_SUFFIX} to a file holding the value)"
            )
        return default

    text = _VARIABLE.sub(value, data)
    return FromEnvironment(text) if _REFERENCE.fullmatch(data) else text


INLINE_SECRET = (
    "put secrets in an environment variable (${NAME}) or a file, not in the config: write"
    " ${NAME} here and set NAME, or NAME_FILE to a file holding the secret"
)


def _reference_only(value: Any) -> Any:
    if isinstance(value, FromEnvironment):
        return str(value)
    raise PydanticCustomError("inline_secret", INLINE_SECRET)


SecretReference = Annotated[SecretStr, BeforeValidator(_reference_only)]
"""A secret in the YAML file: only a ``${NAME}`` reference is accepted (resolved from the
variable or ``NAME_FILE``); a literal, even in a default, is refused at load."""


def validate_section(path: Path, data: dict[str, Any], key: str, model: type[M]) -> M:
    """Validate one top-level section; errors read ``file: key.sub[0].field: problem``."""
    try:
        return model.model_validate(data.get(key) or {})
    except ValidationError as exc:
        problems = [
            f"{path}: {dotted_path((key, *err['loc']))}: {err['msg']}" for err in exc.errors()
        ]
        # Not chained: pydantic's own text repeats each input, and an input may be a secret.
        raise ConfigError("\n".join(problems)) from None


def load_section(
    path: Path, key: str, model: type[M], environ: Mapping[str, str] | None = None
) -> M:
    return validate_section(path, {key: read_section(path, key, environ)}, key, model)


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
