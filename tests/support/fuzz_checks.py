"""Leadflow's own schemathesis checks and the one failure filter, loaded by the fuzz tests
through ``SCHEMATHESIS_HOOKS`` (tests/e2e/test_fuzz_apis.py).

Every schemathesis check runs. One of them, ``positive_data_acceptance``, wants every
request the document allows to be taken (2xx, or 401/403/404/409/429). Two answers to such
requests are right nonetheless, and :func:`business_refusals_are_no_failure` lets exactly
those through:

* a 4xx whose ``error`` names a rule no JSON Schema can state (:data:`BUSINESS_RULES`):
  whether an e-mail address or phone number validates, a rep's working hours start before
  they end, a queue's members exist in the config in force, a vendor payload has the shape
  its source's kind needs;
* a documented 410: the resource existed and was erased (schemathesis knows only 404);
* a documented 405: this resource does not answer the method others on the path do (a
  capture source whose vendor has no GET handshake), with ``Allow`` naming what it does.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData

# Operation -> the ``error`` codes of its refusals that come from rules beyond the schema.
_ADMIN_WRITES = ("POST /v1/admin/reps", "PUT /v1/admin/reps/{rep_id}",
                 "PATCH /v1/admin/reps/{rep_id}/availability", "POST /v1/admin/queues",
                 "PUT /v1/admin/queues/{name}", "PUT /v1/admin/rules")  # fmt: skip
BUSINESS_RULES: dict[str, frozenset[str]] = {
    "POST /v1/leads": frozenset({"invalid_lead"}),
    # one document for every source: what a vendor's payload or a CSV must hold is the
    # source's kind's, named by the source in the path
    "POST /v1/sources/{source}/leads": frozenset({"invalid_payload", "invalid_lead"}),
    "POST /v1/sources/{source}/csv": frozenset({"malformed_csv"}),
    **{label: frozenset({"invalid_config"}) for label in _ADMIN_WRITES},
    # an override must end in the future: no schema can say "after now"
    "PUT /v1/admin/reps/{rep_id}/multiplier": frozenset({"invalid_override"}),
    "POST /v1/leads/{lead_id}:snooze": frozenset({"until_not_in_future"}),
    # "at least one of these fields, or all: true" (JSON Schema could, OpenAPI tools balk)
    "POST /v1/dead-letters:replay": frozenset({"no_letters_named"}),
    "POST /v1/deliveries:retry": frozenset({"no_deliveries_named"}),
    # a cursor is base64url of a position the API gave: no schema can tell a made-up one
    "GET /v1/deliveries": frozenset({"invalid_cursor"}),
    # whether a name is an IANA time zone, and that `to` comes after `from`
    **{
        f"GET /v1/insights/{report}": frozenset({"unknown_time_zone", "empty_window"})
        for report in ("speed", "funnel", "value", "effort", "leaderboard", "fairness", "flow")
    },
}


@schemathesis.check
def refusals_say_what_is_wrong(ctx: Any, response: schemathesis.Response, case: Any) -> None:
    """A 4xx carries ``error``, ``message`` and ``problems``; a 422 names each field."""
    if not 400 <= response.status_code < 500:
        return
    body = response.json()
    assert isinstance(body, dict), f"4xx body is not an object: {response.text[:200]}"
    assert body.get("error") and body.get("message"), f"4xx without error/message: {body}"
    assert isinstance(body.get("problems"), list), f"4xx without a problems list: {body}"
    if response.status_code == 422:
        assert body["problems"], f"422 that names no field: {body}"
        for problem in body["problems"]:
            assert problem.get("field") and problem.get("problem"), f"vague problem: {problem}"


@schemathesis.check
def a_405_allows_the_documented_methods(
    ctx: Any, response: schemathesis.Response, case: Any
) -> None:
    """A 405's ``Allow`` names exactly the methods the document gives the path (schemathesis
    checks that it is there; this checks what it says). An operation that documents a 405
    of its own (a method only some of the path's resources answer) names fewer."""
    if response.status_code != 405:
        return
    path_item = case.operation.schema.raw_schema["paths"][case.operation.path]
    documented = {m.upper() for m in path_item if m.lower() in _HTTP_METHODS}
    allow = ",".join(response.headers.get("allow", []))
    allowed = {m.strip().upper() for m in allow.split(",") if m.strip()}
    message = f"Allow: {allow!r}, documented: {sorted(documented)}"
    if _documents(case, 405) and case.method.upper() in documented:
        assert allowed and allowed < documented, message
    else:
        assert allowed == documented, message


_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@schemathesis.hook
def filter_failure(ctx: Any, failure: Any, case: Any, response: schemathesis.Response) -> bool:
    """Keep every failure except a valid request's business refusal (see the module doc)."""
    if not isinstance(failure, RejectedPositiveData):
        return True
    status = response.status_code
    if status in (405, 410) and _documents(case, status):
        return False
    if 400 <= status < 500:
        error = _error_code(response)
        return error not in BUSINESS_RULES.get(case.operation.label, frozenset())
    return True


def _documents(case: Any, status: int) -> bool:
    return str(status) in case.operation.definition.raw.get("responses", {})


def _error_code(response: schemathesis.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None
