"""The admin API's routes; refusals are mapped to HTTP in one place, :func:`_refusal`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from services.router.admin.access import WriterDep, etag
from services.router.admin.schema import (
    MAX_VERSION,
    AuditOut,
    ConfigOut,
    RollbackIn,
    RulesIn,
    VersionOut,
    WriteOut,
    body_schema,
)
from services.router.config.changes import (
    Change,
    ChangeAvailability,
    CreateQueue,
    CreateRep,
    DeleteQueue,
    DeleteRep,
    ReplaceQueue,
    ReplaceRep,
    ReplaceRules,
)
from services.router.config.model import QueueModel
from services.router.config.reps import RepModel
from services.router.deps import RouterRuntime, RuntimeDep
from services.router.handlers import config as config_handlers
from services.router.handlers.config import ChangeRejected, Outcome, StaleVersion, UnknownVersion
from services.router.store import config as config_store
from shared.auth.guard import AuditRead, ConfigRead
from shared.config import ConfigError
from shared.db.uow import UnitOfWork
from shared.http import ApiError
from shared.params import NO_NUL, IsoDateTime

router = APIRouter(prefix="/v1/admin", tags=["admin"])

WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No rep, queue or version of that name"},
    409: {
        "description": "If-Match names a version no longer in force (`stale_version`), the rep"
        " or queue exists (`already_exists`), or something still names it (`still_referenced`)"
    },
    422: {"description": "Invalid change (each problem at its key)"},
}


def _refusal(exc: Exception) -> ApiError:
    """Every admin refusal's HTTP answer, in one place."""
    if isinstance(exc, StaleVersion):
        message = f"{exc}; read it again (GET /v1/admin/config) and retry"
        etag = {"ETag": f'"{exc.current}"'} if exc.current is not None else None
        return ApiError(409, "stale_version", message, headers=etag)
    if isinstance(exc, ChangeRejected):
        refused = exc.refused
        problems = [{"field": p.path, "problem": p.message} for p in refused.problems]
        if refused.reason == "not_found":
            return ApiError(404, "not_found", str(exc))
        if refused.reason == "exists":
            return ApiError(409, "already_exists", str(exc), problems)
        if refused.reason == "referenced":  # valid as asked; the config in force is in the way
            return ApiError(409, "still_referenced", str(exc), problems)
        return ApiError(422, "invalid_config", str(exc), problems)
    if isinstance(exc, UnknownVersion):
        return ApiError(404, "unknown_version", str(exc))
    if isinstance(exc, ConfigError):
        return ApiError(422, "invalid_config_file", str(exc))
    raise exc


Write = Callable[[UnitOfWork], Awaitable[Outcome]]


async def _write(runtime: RouterRuntime, response: Response, write: Write) -> WriteOut:
    uow = runtime.uow()
    try:
        async with uow:
            outcome = await write(uow)
            await uow.commit()
    except (StaleVersion, ChangeRejected, UnknownVersion, ConfigError) as exc:
        raise _refusal(exc) from None
    etag(response, outcome.version)
    return WriteOut.of(outcome)


Apply = Callable[[Change], Awaitable[WriteOut]]


async def _applier(who: WriterDep, runtime: RuntimeDep, response: Response) -> Apply:
    """What every rep, queue and rules route does with its change: apply it to the routing
    config in force, store the new version with its audit row, answer with the version."""

    async def apply(change: Change) -> WriteOut:
        async def write(uow: UnitOfWork) -> Outcome:
            return await config_handlers.change_config(
                uow, change, actor=who.actor, reason=who.reason, expected=who.expected,
                now=runtime.deps.clock(),
            )  # fmt: skip

        return await _write(runtime, response, write)

    return apply


ApplyDep = Annotated[Apply, Depends(_applier)]


# --- reads ------------------------------------------------------------------------------


@router.get(
    "/config",
    response_model=ConfigOut,
    responses={404: {"description": "No routing config is stored yet"}},
    summary="The routing config in force, with its version",
)
async def read_config(runtime: RuntimeDep, response: Response, caller: ConfigRead) -> ConfigOut:
    async with runtime.engine.connect() as conn:
        number = await config_store.head_version(conn)
        version = await config_store.load_version(conn, number) if number is not None else None
    if version is None:
        raise ApiError(404, "no_config", "no routing config version is stored yet")
    etag(response, version.version)
    return ConfigOut.of(version)


@router.get(
    "/config/versions", response_model=list[VersionOut], summary="Config versions, newest first"
)
async def list_versions(
    runtime: RuntimeDep, caller: ConfigRead, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[VersionOut]:
    async with runtime.engine.connect() as conn:
        versions = await config_store.list_versions(conn, limit)
    return [VersionOut.of(v) for v in versions]


@router.get(
    "/config/versions/{version}",
    response_model=ConfigOut,
    responses={404: {"description": "No such version"}},
    summary="One version, whole",
)
async def read_version(
    version: Annotated[int, Path(ge=1, le=MAX_VERSION)], runtime: RuntimeDep, caller: ConfigRead
) -> ConfigOut:
    async with runtime.engine.connect() as conn:
        stored = await config_store.load_version(conn, version)
    if stored is None:
        raise ApiError(404, "unknown_version", f"no routing config version {version}")
    return ConfigOut.of(stored)


@router.get("/audit", response_model=list[AuditOut], summary="Config changes, newest first")
async def read_audit(
    runtime: RuntimeDep,
    caller: AuditRead,
    target: Annotated[
        str | None,
        Query(
            pattern=NO_NUL, description="rep:ana, queue:fashion-uk, rules, config; or rep, queue"
        ),
    ] = None,
    since: Annotated[
        IsoDateTime | None, Query(description="Changes at or after (RFC 3339, with its zone)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    async with runtime.engine.connect() as conn:
        entries = await config_store.read_audit(conn, target, since, limit)
    return [AuditOut.of(e) for e in entries]


# --- reps -------------------------------------------------------------------------------

RepBody = Annotated[dict[str, Any], Body(description="A rep, as in the config file")]


@router.post(
    "/reps",
    response_model=WriteOut,
    status_code=201,
    responses=WRITE_ERRORS,
    openapi_extra=body_schema(RepModel),
    summary="Add a rep",
)
async def create_rep(body: RepBody, apply: ApplyDep) -> WriteOut:
    return await apply(CreateRep(body))


@router.put(
    "/reps/{rep_id}",
    response_model=WriteOut,
    responses=WRITE_ERRORS,
    openapi_extra=body_schema(RepModel),
    summary="Replace a rep (its id stays)",
)
async def replace_rep(rep_id: str, body: RepBody, apply: ApplyDep) -> WriteOut:
    return await apply(ReplaceRep(rep_id, body))


@router.delete(
    "/reps/{rep_id}",
    response_model=WriteOut,
    responses=WRITE_ERRORS,
    summary="Remove a rep no queue names any more",
)
async def delete_rep(rep_id: str, apply: ApplyDep) -> WriteOut:
    return await apply(DeleteRep(rep_id))


class AvailabilityIn(BaseModel):
    """Only the fields given change; null removes one (working_hours: null = always at work)."""

    model_config = ConfigDict(extra="forbid")

    online: bool | None = Field(None, description="The online/offline toggle")
    timezone: str | None = Field(None, description="IANA time zone")
    working_hours: dict[str, Any] | None = Field(None, description="{days, start, end}")
    holidays: list[str] | None = Field(None, description="Local dates, YYYY-MM-DD")
    out_of_office: list[dict[str, Any]] | None = Field(None, description="[{from, to}]")


@router.patch(
    "/reps/{rep_id}/availability",
    response_model=WriteOut,
    responses=WRITE_ERRORS,
    openapi_extra=body_schema(AvailabilityIn),
    summary="Change a rep's availability: online, hours, time zone, holidays, absences",
)
async def change_availability(
    rep_id: str,
    body: Annotated[dict[str, Any], Body()],
    apply: ApplyDep,
) -> WriteOut:
    return await apply(ChangeAvailability(rep_id, body))


# --- queues and rules ---------------------------------------------------------------------

QueueBody = Annotated[dict[str, Any], Body(description="A queue, as in the config file")]


@router.post(
    "/queues",
    response_model=WriteOut,
    status_code=201,
    responses=WRITE_ERRORS,
    openapi_extra=body_schema(QueueModel),
    summary="Add a queue",
)
async def create_queue(body: QueueBody, apply: ApplyDep) -> WriteOut:
    return await apply(CreateQueue(body))


@router.put(
    "/queues/{name}",
    response_model=WriteOut,
    responses=WRITE_ERRORS,
    openapi_extra=body_schema(QueueModel),
    summary="Replace a queue (its name stays)",
)
async def replace_queue(name: str, body: QueueBody, apply: ApplyDep) -> WriteOut:
    return await apply(ReplaceQueue(name, body))


@router.delete(
    "/queues/{name}",
    response_model=WriteOut,
    responses=WRITE_ERRORS,
    summary="Remove a queue no rule, fallback or escalation names any more",
)
async def delete_queue(name: str, apply: ApplyDep) -> WriteOut:
    return await apply(DeleteQueue(name))


@router.put(
    "/rules",
    response_model=WriteOut,
    responses=WRITE_ERRORS,
    summary="Replace the ordered rules (and the default queue, when given)",
)
async def replace_rules(body: RulesIn, apply: ApplyDep) -> WriteOut:
    change = ReplaceRules(body.rules, body.default_queue)
    return await apply(change)


# --- the whole config -----------------------------------------------------------------------


@router.post(
    "/config:reload",
    response_model=WriteOut,
    responses=WRITE_ERRORS,
    summary="Re-read the YAML file now; its routing section replaces the config in force",
)
async def reload_config(who: WriterDep, runtime: RuntimeDep, response: Response) -> WriteOut:
    path = runtime.settings.config_file

    async def write(uow: UnitOfWork) -> Outcome:
        return await config_handlers.import_file(
            uow,
            path,
            actor=who.actor,
            reason=who.reason,
            expected=who.expected,
            now=runtime.deps.clock(),
            on_start=False,
        )

    return await _write(runtime, response, write)


@router.post(
    "/config:rollback",
    response_model=WriteOut,
    responses=WRITE_ERRORS,
    summary="Put an earlier version's config back in force, as a new version",
)
async def rollback_config(
    body: RollbackIn, who: WriterDep, runtime: RuntimeDep, response: Response
) -> WriteOut:
    async def write(uow: UnitOfWork) -> Outcome:
        return await config_handlers.rollback_config(
            uow,
            body.version,
            actor=who.actor,
            reason=who.reason,
            expected=who.expected,
            now=runtime.deps.clock(),
        )

    return await _write(runtime, response, write)
