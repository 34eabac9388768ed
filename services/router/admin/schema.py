"""The admin API's request and response bodies, and the OpenAPI schema of the bodies that
are the config file's own shapes (a rep, a queue): those are read as plain JSON and
validated with the whole config, so every problem is named at its config key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.router.handlers.config import Outcome
from services.router.store import config as config_store


class DiffOut(BaseModel):
    path: str = Field(description="Config key, reps and queues by id: reps[ana].online")
    before: Any = Field(None, description="Value before (null: the key was added)")
    after: Any = Field(None, description="Value after (null: the key was removed)")


class WriteOut(BaseModel):
    version: int = Field(description="Config version in force after the write")
    previous_version: int | None = Field(description="Version the change was applied to")
    changed: bool = Field(description="False: the config already said this; no version made")
    action: str = Field(description="e.g. rep.updated, rep.availability_changed, rules.replaced")
    target: str = Field(description="e.g. rep:ana, queue:fashion-uk, rules, config")
    diff: list[DiffOut]

    @classmethod
    def of(cls, o: Outcome) -> WriteOut:
        return cls(version=o.version, previous_version=o.previous, changed=o.changed,
                   action=o.action, target=o.target,
                   diff=[DiffOut.model_validate(d) for d in o.diff])  # fmt: skip


class VersionOut(BaseModel):
    version: int
    origin: str = Field(description="file (at start or reloaded), api, or rollback")
    actor: str = Field(
        description="Who made it: the credential (key:<id> or jwt:<subject>), with the X-Actor"
        " in brackets when the write gave one; router for the file"
    )
    reason: str | None = None
    created_at: datetime
    file_path: str | None = Field(None, description="origin file: the file read")
    restored: int | None = Field(None, description="origin rollback: the version restored")

    @classmethod
    def of(cls, v: config_store.ConfigVersion) -> VersionOut:
        return cls(version=v.version, origin=v.origin, actor=v.actor, reason=v.reason,
                   created_at=v.created_at, file_path=v.file_path, restored=v.restored)  # fmt: skip


class ConfigOut(VersionOut):
    config: dict[str, Any] = Field(description="The routing section, whole, as the file has it")

    @classmethod
    def of(cls, v: config_store.ConfigVersion) -> ConfigOut:
        return cls(**VersionOut.of(v).model_dump(), config=v.config)


class AuditOut(BaseModel):
    version: int = Field(description="The version the change made")
    at: datetime
    actor: str
    action: str
    target: str
    before: Any = Field(None, description="The rep, queue or rules before (null: created)")
    after: Any = Field(None, description="The rep, queue or rules after (null: deleted)")
    diff: list[DiffOut]
    reason: str | None = None

    @classmethod
    def of(cls, a: config_store.AuditEntry) -> AuditOut:
        return cls(version=a.version, at=a.at, actor=a.actor, action=a.action, target=a.target,
                   before=a.before, after=a.after, reason=a.reason,
                   diff=[DiffOut.model_validate(d) for d in a.diff])  # fmt: skip


class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[dict[str, Any]] = Field(
        description="Every rule, in order, as in the config file: {name, when, queue}"
    )
    default_queue: str | None = Field(None, description="Also set the default queue")


MAX_VERSION = 2**31 - 1  # versions are PostgreSQL integers


class RollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(
        ge=1, le=MAX_VERSION, description="The version whose config comes back in force"
    )


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON body with ``model``'s schema, inlined (the
    document has no place for the model's own definitions)."""
    schema = model.model_json_schema(by_alias=True)
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(n) for n in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        own = {k: inline(v) for k, v in node.items() if k != "$ref"}
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return {**inline(defs[ref.removeprefix("#/$defs/")]), **own}
        return own

    body = {"schema": inline(schema)}
    return {"requestBody": {"required": True, "content": {"application/json": body}}}
