"""The runtime every service shares: engine, migrations, publisher, outbox relay, consumer,
health endpoints. A service's ``main.create_app`` describes itself with a
:class:`ServiceSpec`; :func:`create_service_app` is the only place the I/O objects are built.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import clock
from shared.auth.audit_api import audit_router
from shared.auth.guard import authorize, build_authenticator, guard_routes
from shared.auth.scopes import Scope
from shared.bus.consumer import BatchConsumer, BatchHandler, ConsumerSettings
from shared.bus.erasure import EraseHook, honouring_erasure
from shared.bus.publisher import KafkaPublisher
from shared.bus.settling import Settling
from shared.bus.watch import BrokerWatch
from shared.config import ServiceSettings
from shared.contracts.topics import all_topics
from shared.db.engine import make_engine
from shared.db.inbox import purge_old
from shared.db.migrate import migrate
from shared.db.outbox import OutboxRelay, RelaySettings, outbox_backlog
from shared.db.uow import UnitOfWork
from shared.dead_letter_api import dead_letter_router
from shared.http import (
    BodyLimitMiddleware,
    SecurityHeadersMiddleware,
    TimingMiddleware,
    install_error_handlers,
)
from shared.observability import configure_logging
from shared.openapi import document_refusals
from shared.periodic import Job
from shared.recovery import BrokerAdoption, prune_once, readers_of
from shared.retry import retry

log = logging.getLogger(__name__)


D = TypeVar("D")


@dataclass
class Runtime(Generic[D]):
    """What the lifespan built, with the service's own dependencies in ``deps`` (a typed
    dataclass built in its ``main.py``); routes reach it through the ``Annotated`` aliases
    of the service's ``deps.py``, jobs and resources are given it."""

    settings: ServiceSettings
    engine: AsyncEngine
    publisher: KafkaPublisher
    relay: OutboxRelay
    watch: BrokerWatch
    deps: D
    consumer: BatchConsumer | None = None
    migrated: bool = False

    def uow(self) -> UnitOfWork:
        """A unit of work whose commit hands its events to this service's relay."""
        return UnitOfWork(self.engine, self.settings.service_name, self.relay)


# Entered when the service starts (after migrations), exited in reverse order when it stops.
Resource = Callable[[Runtime[D]], AbstractAsyncContextManager[Any]]


def worker(run: Callable[[Runtime[D]], Coroutine[Any, Any, None]]) -> Resource[D]:
    """A task that runs as long as the service (a worker woken by events, not a periodic
    :class:`~shared.periodic.Job`): started after migrations, cancelled when it stops."""

    @asynccontextmanager
    async def running(runtime: Runtime[D]) -> AsyncIterator[None]:
        task = asyncio.create_task(run(runtime), name=getattr(run, "__name__", "worker"))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    return running


@dataclass
class ServiceSpec(Generic[D]):
    name: str
    version: str
    description: str
    migrations: Path
    deps: D
    routers: Sequence[APIRouter] = ()
    consumes: Sequence[str] = ()
    make_handler: Callable[[Runtime[D]], BatchHandler] | None = None
    # Deletes what the service holds about erased leads; events for them are dropped anyway.
    erase: EraseHook | None = None
    # The handler is given the erasures too, after ``erase`` ran (the notifier delivers them).
    handles_erasures: bool = False
    # A background read model holds what it fetches until the stream goes quiet (see
    # shared.bus.settling); None applies each batch at once, as the latency path must.
    settling: Settling | None = None
    jobs: Sequence[Job[Runtime[D]]] = ()
    resources: Sequence[Resource[D]] = ()
    max_body_bytes: int = 1_048_576
    body_limits: dict[str, int] = field(default_factory=dict)  # exact path -> bytes


async def get_runtime(request: Request) -> Runtime[Any]:
    """Async on purpose: FastAPI runs a sync dependency in a worker thread (a thread hop per
    request, measured at ~0.1 ms of CPU). A service's ``deps.py`` narrows it to its own
    ``Runtime[Deps]``."""
    runtime: Runtime[Any] = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime[Any], Depends(get_runtime)]


def _is_unreachable(exc: Exception) -> bool:
    return isinstance(exc, OSError | ConnectionError) or "connect" in str(exc).lower()


async def _migrate_when_reachable(runtime: Runtime[Any], migrations: Path, schema: str) -> None:
    await retry(
        lambda: migrate(runtime.engine, schema, migrations),
        what="PostgreSQL not reachable",
        transient=_is_unreachable,
    )
    runtime.migrated = True


def create_service_app(spec: ServiceSpec[D], settings: ServiceSettings) -> FastAPI:
    schema = settings.db_schema or spec.name

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(spec.name, settings.log_level)
        if settings.clock_file is not None:  # a driven clock (tests, demos): read it first
            previous_clock = clock.install(clock.FileClock(settings.clock_file))
            log.warning(
                "%s runs on the clock in %s, not the real one", spec.name, settings.clock_file
            )
        engine = make_engine(settings.asyncpg_url, schema, pool_size=settings.db_pool_size)
        watch = BrokerWatch(
            settings.kafka_bootstrap,
            all_topics(settings.topic_prefix),
            BrokerAdoption(settings, engine, spec.name).adopt,
            interval_s=settings.broker_watch_interval_s,
        )
        publisher = KafkaPublisher(
            settings.kafka_bootstrap,
            client_id=spec.name,
            idempotence=settings.kafka_idempotence,
            gate=watch.wait_settled,
            topic_prefix=settings.topic_prefix,
        )
        relay = OutboxRelay(
            engine,
            publisher,
            RelaySettings(
                settings.outbox_relay_interval_s,
                retain_s=settings.outbox_retain_s,
                retain_max_s=settings.outbox_retain_max_s,
            ),
            cluster_of=lambda: watch.cluster_id,
        )
        runtime = Runtime(settings, engine, publisher, relay, watch, spec.deps)
        app.state.runtime = runtime
        await _migrate_when_reachable(runtime, spec.migrations, schema)
        watch.start()  # adopts the broker (topics, republish) before anything is published
        publisher.start_in_background()
        relay.start()
        consumer: BatchConsumer | None = None
        if spec.make_handler is not None and spec.consumes:
            consumer = runtime.consumer = BatchConsumer(
                ConsumerSettings(
                    group=settings.consumer_group or spec.name,
                    topics=tuple(spec.consumes),
                    bootstrap=settings.kafka_bootstrap,
                    fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
                    fetch_min_bytes=settings.kafka_fetch_min_bytes,
                    max_batch=settings.kafka_max_batch,
                    session_timeout_ms=settings.kafka_session_timeout_ms,
                    heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
                    topic_prefix=settings.topic_prefix,
                    settling=spec.settling,
                ),
                engine=engine,
                source=spec.name,
                handle=honouring_erasure(
                    spec.make_handler(runtime),
                    spec.erase,
                    settings.consumer_group or spec.name,
                    pass_on_erasures=spec.handles_erasures,
                ),
                relay=relay,
                dead_letters=publisher,
                watch=watch,
            )
            consumer.start()  # fetches once the watch has adopted the broker (topics exist)

        resources = AsyncExitStack()
        for resource in spec.resources:
            await resources.enter_async_context(resource(runtime))
        jobs = [
            asyncio.create_task(job.run_forever(runtime), name=job.name)
            for job in (*spec.jobs, *_housekeeping(settings))
        ]
        log.info("%s started on %s:%d", spec.name, settings.host, settings.port)
        try:
            yield
        finally:
            await resources.aclose()
            for task in jobs:
                task.cancel()
            for task in jobs:
                with contextlib.suppress(BaseException):
                    await task
            if runtime.consumer is not None:
                await runtime.consumer.stop()
            await relay.stop()
            await publisher.stop()
            await watch.stop()
            await engine.dispose()
            if settings.clock_file is not None:
                clock.install(previous_clock)
            log.info("%s stopped", spec.name)

    app = FastAPI(
        title=f"Leadflow {spec.name}",
        version=spec.version,
        description=spec.description,
        lifespan=lifespan,
    )
    app.state.auth = build_authenticator(settings)
    install_error_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=spec.max_body_bytes, per_path=spec.body_limits
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(TimingMiddleware)
    app.include_router(_health_router())
    operations = [audit_router()]
    if spec.make_handler is not None and spec.consumes:  # a consumer has dead letters
        operations.append(dead_letter_router(settings.consumer_group or spec.name))
    for router in (*operations, *spec.routers):
        guard_routes(router)  # every route needs a scope (or a vendor's own signature)
        app.include_router(router)
    document_refusals(app)
    return app


def _housekeeping(settings: ServiceSettings) -> list[Job[Runtime[Any]]]:
    """The jobs every service runs besides its own."""
    return [
        Job("inbox purge", 60, _purge_inbox, wait_first=True),
        Job("outbox prune", settings.outbox_prune_interval_s, _prune_outbox, wait_first=True),
        Job("flow measure", settings.metrics_interval_s, _measure_flow, wait_first=True),
    ]


async def _purge_inbox(runtime: Runtime[Any]) -> None:
    """Keep the inbox to the dedupe window (``LEADFLOW_INBOX_KEEP_DAYS``)."""
    async with runtime.engine.begin() as conn:
        removed = await purge_old(conn, runtime.settings.inbox_keep_days)
    if removed:
        log.info("purged %d inbox row(s) past the dedupe window", removed)


async def _prune_outbox(runtime: Runtime[Any]) -> None:
    """Keep published events only as long as a forgetful broker could need them again."""
    if not runtime.watch.settled:
        return  # offsets of a broker being replaced say nothing about the rows
    readers = readers_of(runtime.settings.service_name)
    removed = await prune_once(
        runtime.relay,
        runtime.settings.kafka_bootstrap,
        readers,
        runtime.settings.topic_prefix,
    )
    if removed:
        log.debug("pruned %d published outbox row(s)", removed)


async def _measure_flow(runtime: Runtime[Any]) -> None:
    """Outbox backlog and consumer lag from where they are, on a timer: the figures must move
    while Kafka is down too, when nothing is published or fetched."""
    try:
        await asyncio.wait_for(outbox_backlog(runtime.engine), timeout=5)
    except Exception:
        log.debug("outbox backlog not measured", exc_info=True)
    if runtime.consumer is not None and runtime.consumer.ready:
        try:
            await asyncio.wait_for(runtime.consumer.record_lag(), timeout=5)
        except Exception:
            log.debug("consumer lag not measured", exc_info=True)


def _health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: PostgreSQL reachable, migrations done, Kafka connected",
        responses={503: {"description": "Not ready; the body says which part"}},
    )
    async def readyz(runtime: RuntimeDep) -> JSONResponse:
        # Live checks: a part counts as down once it has failed for the grace period.
        broker_up = runtime.watch.reachable(runtime.settings.readiness_grace_s)
        checks = {
            "postgres": await _db_ok(runtime.engine),
            "migrations": runtime.migrated,
            "kafka_producer": runtime.publisher.ready and broker_up,
        }
        if runtime.consumer is not None:
            checks["kafka_consumer"] = runtime.consumer.ready and broker_up
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        description="Open to anyone who can reach the port unless LEADFLOW_METRICS_REQUIRE_KEY"
        " is set; then it needs a credential with scope `metrics:read`.",
        response_class=Response,
        responses={
            401: {"description": "LEADFLOW_METRICS_REQUIRE_KEY is set and no valid credential"},
            403: {
                "description": "LEADFLOW_METRICS_REQUIRE_KEY is set; the credential lacks"
                " scope `metrics:read`"
            },
        },
    )
    async def metrics_endpoint(request: Request, runtime: RuntimeDep) -> Response:
        if runtime.settings.metrics_require_key:
            await authorize(request, Scope.METRICS_READ)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _db_ok(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=2)
        return True
    except Exception:
        return False
