"""The scopes a credential can hold: least privilege, one per kind of access.

A route names the one scope it needs; a key or token holds a list of them (``*`` for every
scope, which only the local admin key of ``leadflow up`` gets by default)."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    LEADS_WRITE = "leads:write"
    LEADS_READ = "leads:read"
    LEADS_ERASE = "leads:erase"
    ACTIVITIES_WRITE = "activities:write"
    CONFIG_READ = "config:read"
    ROUTING_ADMIN = "routing:admin"
    REPORTS_READ = "reports:read"
    DELIVERIES_READ = "deliveries:read"
    DELIVERIES_MANAGE = "deliveries:manage"
    NURTURE_MANAGE = "nurture:manage"
    SOURCES_MANAGE = "sources:manage"
    AUDIT_READ = "audit:read"
    METRICS_READ = "metrics:read"
    DEAD_LETTERS_READ = "deadletters:read"
    DEAD_LETTERS_MANAGE = "deadletters:manage"


# What each scope allows, for `leadflow keys scopes`, the OpenAPI documents and docs/security.md.
SCOPE_HELP: dict[Scope, str] = {
    Scope.LEADS_WRITE: "submit leads (POST /v1/leads, /v1/leads:batch)",
    Scope.LEADS_READ: "read a lead's personal data, score, assignment and nurture state",
    Scope.LEADS_ERASE: "erase a lead everywhere (DELETE /v1/leads/{id})",
    Scope.ACTIVITIES_WRITE: "report contacts and outcomes (sales tools)",
    Scope.CONFIG_READ: "read sources, scoring model, reps, queues, sequences, subscriptions;"
    " simulate scoring and routing",
    Scope.ROUTING_ADMIN: "change reps, queues, rules and availability; reload or roll back",
    Scope.REPORTS_READ: "rep statistics and reports",
    Scope.DELIVERIES_READ: "list and inspect webhook deliveries (they carry lead data)",
    Scope.DELIVERIES_MANAGE: "re-send webhook deliveries",
    Scope.NURTURE_MANAGE: "stop a lead's nurture sequence",
    Scope.SOURCES_MANAGE: "inspect and retry vendor fetch jobs",
    Scope.AUDIT_READ: "read the audit trail",
    Scope.METRICS_READ: "read /metrics when LEADFLOW_METRICS_REQUIRE_KEY is set",
    Scope.DEAD_LETTERS_READ: "list and inspect a service's dead letters (they carry lead data)",
    Scope.DEAD_LETTERS_MANAGE: "replay dead letters to their original topic",
}


def parse_scopes(values: list[str] | tuple[str, ...]) -> frozenset[str]:
    """Scope names checked against the list (``*`` allowed); ValueError names the unknown."""
    known = {scope.value for scope in Scope} | {"*"}
    unknown = [value for value in values if value not in known]
    if unknown:
        raise ValueError(
            f"unknown scope(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}"
        )
    return frozenset(values)
