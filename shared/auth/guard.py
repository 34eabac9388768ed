"""The one gate in front of every API route: who is calling (an API key from the key ring,
or a JWT from the organisation's identity provider), may they (the route's scope), and not
too often (a token bucket per credential).

A route declares what it needs with one of the aliases at the bottom::

    async def read_lead(lead_id: UUID, caller: LeadsRead) -> LeadOut: ...

and gets the verified :class:`Principal`, whose ``subject`` the audit trail records.
Refusals are the shared error shape: 401 (no or bad credential, with ``WWW-Authenticate``),
403 ``insufficient_scope``, 429 ``rate_limited`` with ``Retry-After``; never a 5xx.
:func:`guard_routes` refuses to start a service with a route that neither
requires a scope nor is marked as vendor-authenticated.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Request, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from shared.auth.jwt import JwtSettings, JwtVerifier, looks_like_jwt
from shared.auth.keyring import KeyRing
from shared.auth.principal import Principal, Unauthenticated
from shared.auth.ratelimit import Limit, Limiter, retry_after
from shared.auth.scopes import SCOPE_HELP, Scope
from shared.clock import Clock
from shared.clock import now as utc_now
from shared.config import ConfigError, ServiceSettings
from shared.http import ApiError
from shared.observability import metrics

# OpenAPI extension on a route that authenticates its caller itself (a vendor's signature
# or source key), so the gate leaves it alone and the document says so.
VENDOR_AUTH = {"x-leadflow-auth": "vendor", "security": []}
# OpenAPI extension on the dashboard's login and logout: where a person hands over (or drops)
# the credential the page guards read, so they cannot require one themselves.
LOGIN_FORM = {"x-leadflow-auth": "login", "security": []}
# The dashboard's session cookie: a key or token pasted on the login page. Read by the page
# guards (:func:`require_page`) only; the API routes stay header-only, so a browser that
# holds the cookie cannot be made to call an API by another site.
SESSION_COOKIE = "leadflow_session"
SCOPE_EXTENSION = "x-required-scope"

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="`Authorization: Bearer <API key or JWT>`",
)
_api_key = APIKeyHeader(
    name="X-Api-Key",
    auto_error=False,
    scheme_name="apiKey",
    description="`X-Api-Key: <API key>`, for tools that cannot set Authorization",
)


class TokenVerifier(Protocol):
    """Verifies a JWT (see :mod:`shared.auth.jwt`)."""

    async def verify(self, token: str) -> Principal: ...


@dataclass
class Authenticator:
    """What the gate checks against, built once per app from its settings."""

    ring: KeyRing
    tokens: TokenVerifier | None
    default_limit: Limit
    limiter: Limiter
    clock: Clock = utc_now
    monotonic: Callable[[], float] = time.monotonic

    async def authenticate(self, credential: str | None) -> Principal:
        if not credential:
            raise Unauthenticated(
                "missing_credentials",
                "send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'",
            )
        if self.tokens is not None and looks_like_jwt(credential):
            return await self.tokens.verify(credential)
        return self.ring.index().authenticate(credential, self.clock())

    def wait_for(self, principal: Principal) -> float:
        limit = self.default_limit
        if principal.rate_per_s is not None:
            limit = Limit(principal.rate_per_s, principal.burst or limit.burst)
        return self.limiter.wait_for(principal.subject, limit, self.monotonic())


def _route_of(request: Request) -> str:
    return getattr(request.scope.get("route"), "path", request.url.path)


def _refuse(request: Request, status: int, error: str, message: str, **headers: str) -> ApiError:
    metrics.api_refusals.labels(_route_of(request), error).inc()
    return ApiError(status, error, message, headers=headers or None)


async def authenticated(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key)],
) -> Principal:
    """The caller, verified; 401 otherwise. Cached per request by FastAPI."""
    credential = bearer.credentials if bearer is not None else api_key
    return await _verify(request, (credential or "").strip() or None)


async def _verify(request: Request, credential: str | None) -> Principal:
    auth: Authenticator = request.app.state.auth
    try:
        principal = await auth.authenticate(credential)
    except Unauthenticated as exc:
        raise _refuse(
            request, 401, exc.reason, exc.message,
            **{"WWW-Authenticate": 'Bearer realm="leadflow"'},
        ) from None  # fmt: skip
    request.state.principal = principal
    return principal


def _admit(request: Request, principal: Principal, scope: Scope) -> None:
    if not principal.may(scope):
        held = ", ".join(sorted(principal.scopes)) or "none"
        raise _refuse(
            request, 403, "insufficient_scope",
            f"this needs scope {scope.value!r}; {principal.subject} holds: {held}",
        )  # fmt: skip
    wait = request.app.state.auth.wait_for(principal)
    if wait > 0:
        raise _refuse(
            request, 429, "rate_limited",
            f"{principal.subject} is over its rate limit; retry after the Retry-After seconds",
            **{"Retry-After": retry_after(wait)},
        )  # fmt: skip


async def authorize(request: Request, scope: Scope) -> Principal:
    """The gate outside a route's dependencies (e.g. /metrics when a setting asks for it)."""
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    credential = token if scheme.lower() == "bearer" else request.headers.get("x-api-key")
    principal = await _verify(request, (credential or "").strip() or None)
    _admit(request, principal, scope)
    return principal


@functools.cache
def require(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """The dependency for routes that need ``scope`` (one function per scope, so FastAPI
    and :func:`guard_routes` recognise it)."""

    async def guard(
        request: Request, principal: Annotated[Principal, Depends(authenticated)]
    ) -> Principal:
        _admit(request, principal, scope)
        return principal

    guard.__name__ = f"require_{scope.name.lower()}"
    _SCOPE_OF[guard] = scope
    return guard


_SCOPE_OF: dict[Callable[..., Any], Scope] = {}


class PageRefusal(ApiError):
    """A page guard's refusal: the service answers it as a page (401: to the login page),
    not in the API's JSON error shape."""


@functools.cache
def require_page(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """The dependency for dashboard pages: like :func:`require`, and it also reads the
    credential from the :data:`SESSION_COOKIE` (a header, when sent, wins)."""

    async def guard(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        api_key: Annotated[str | None, Security(_api_key)],
    ) -> Principal:
        header = bearer.credentials if bearer is not None else api_key
        credential = (header or request.cookies.get(SESSION_COOKIE) or "").strip() or None
        try:
            principal = await _verify(request, credential)
            _admit(request, principal, scope)
        except ApiError as exc:
            raise PageRefusal(exc.status, exc.error, exc.message, headers=exc.headers) from None
        return principal

    guard.__name__ = f"require_page_{scope.name.lower()}"
    _SCOPE_OF[guard] = scope
    return guard


def build_authenticator(settings: ServiceSettings) -> Authenticator:
    """From a service's settings (``LEADFLOW_API_KEYS_FILE``, ``LEADFLOW_JWT_*``,
    ``LEADFLOW_RATE_LIMIT_*``); a JWT setting that cannot work stops the start, naming it."""
    return Authenticator(
        ring=KeyRing(settings.api_keys_file),
        tokens=_token_verifier(settings),
        default_limit=Limit(settings.rate_limit_per_s, settings.rate_limit_burst),
        limiter=Limiter(),
    )


def _token_verifier(settings: ServiceSettings) -> JwtVerifier | None:
    if settings.jwt_issuer is None:
        return None
    try:
        return JwtVerifier(
            JwtSettings(
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience or "",
                jwks_url=settings.jwt_jwks_url,
                jwks_file=settings.jwt_jwks_file,
                scopes_claim=settings.jwt_scopes_claim,
            )
        )
    except ValueError as exc:
        raise ConfigError(f"LEADFLOW_JWT_*: {exc}") from None


def required_scope(route: APIRoute) -> Scope | None:
    """The scope a route's gate requires (searched through its dependency tree)."""
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        found = _SCOPE_OF.get(dependant.call) if dependant.call is not None else None
        if found is not None:
            return found
        stack.extend(dependant.dependencies)
    return None


def guard_routes(router: APIRouter) -> None:
    """Refuse a router with an unguarded route (deny by default: a route must require a
    scope or be marked :data:`VENDOR_AUTH`), and document each route's scope and refusals in
    the OpenAPI document. Called on every router of a service before it is included."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        scope = required_scope(route)
        if scope is None:
            if (route.openapi_extra or {}).get("x-leadflow-auth") in ("vendor", "login"):
                continue
            raise RuntimeError(
                f"route {sorted(route.methods or ())} {route.path} requires no scope: add a"
                " shared.auth.guard dependency, or mark it VENDOR_AUTH if a vendor signs it"
                " (LOGIN_FORM if it is where a person signs in)"
            )
        route.openapi_extra = {**(route.openapi_extra or {}), SCOPE_EXTENSION: scope.value}
        note = f"Requires scope `{scope.value}` ({SCOPE_HELP[scope]})."
        route.description = f"{route.description}\n\n{note}".strip()
        for status, text in (
            ("401", "No credential, or one that is invalid, expired or revoked"),
            ("403", f"The credential lacks scope `{scope.value}`"),
            ("429", "Over the credential's rate limit; see Retry-After"),
        ):
            route.responses.setdefault(status, {"description": text})


LeadsWrite = Annotated[Principal, Depends(require(Scope.LEADS_WRITE))]
LeadsRead = Annotated[Principal, Depends(require(Scope.LEADS_READ))]
LeadsErase = Annotated[Principal, Depends(require(Scope.LEADS_ERASE))]
ActivitiesWrite = Annotated[Principal, Depends(require(Scope.ACTIVITIES_WRITE))]
ConfigRead = Annotated[Principal, Depends(require(Scope.CONFIG_READ))]
RoutingAdmin = Annotated[Principal, Depends(require(Scope.ROUTING_ADMIN))]
ReportsRead = Annotated[Principal, Depends(require(Scope.REPORTS_READ))]
DeliveriesRead = Annotated[Principal, Depends(require(Scope.DELIVERIES_READ))]
DeliveriesManage = Annotated[Principal, Depends(require(Scope.DELIVERIES_MANAGE))]
NurtureManage = Annotated[Principal, Depends(require(Scope.NURTURE_MANAGE))]
SourcesManage = Annotated[Principal, Depends(require(Scope.SOURCES_MANAGE))]
AuditRead = Annotated[Principal, Depends(require(Scope.AUDIT_READ))]
MetricsRead = Annotated[Principal, Depends(require(Scope.METRICS_READ))]
DeadLettersRead = Annotated[Principal, Depends(require(Scope.DEAD_LETTERS_READ))]
DeadLettersManage = Annotated[Principal, Depends(require(Scope.DEAD_LETTERS_MANAGE))]
ReportsPage = Annotated[Principal, Depends(require_page(Scope.REPORTS_READ))]


def limit_source(request: Request, source: str, limit: Limit) -> None:
    """A vendor source's own token bucket (its requests authenticate by signature, not by
    a key of the ring): 429 with Retry-After beyond it."""
    auth: Authenticator = request.app.state.auth
    wait = auth.limiter.wait_for(f"source:{source}", limit, auth.monotonic())
    if wait > 0:
        raise _refuse(
            request, 429, "rate_limited",
            f"source {source!r} is over its rate limit; retry after the Retry-After seconds",
            **{"Retry-After": retry_after(wait)},
        )  # fmt: skip
