"""The routing config's models (the file's ``routing`` section): queues, rules and the whole
routing config with its cross-references (members, fallbacks, rules' queues, SLA
escalations), each problem at its key. The same models validate the YAML file and every
admin API change.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_core import InitErrorDetails, ValidationError

from services.router.config.cold import (
    GoneColdModel,
    RecyclingModel,
    check_gone_cold,
    check_recycling,
    cold_policy,
    recycling_policy,
)
from services.router.config.fairness import (
    DEFAULT_BUCKET,
    FairnessModel,
    LoadWeightsField,
    fairness_policy,
    load_weights,
)
from services.router.config.fields import Lowered, Model, Report, error, fail
from services.router.config.owners import OwnerMatchField, owner_match
from services.router.config.reps import RepModel, rep_domain
from services.router.config.sla import SlaModel, check_sla, sla_policy, sla_shorthand
from services.router.config.teams import (
    TeamModel,
    check_manager_escalation,
    check_teams,
    teams_domain,
)
from services.router.domain.model import Queue, Routing, Rule, Strategy
from services.router.domain.rules import DEFAULT_RULE
from shared.conditions import Condition, ConditionError, Leaf, Not, parse_condition
from shared.config import load_section
from shared.contracts.capture import LeadProfile

SECTION = "routing"
SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
RULE_FIELDS = frozenset(LeadProfile.model_fields) | {"score", "bucket"}
DOTTED_ROOTS = frozenset({"utm", "attributes"})


class QueueModel(Model):
    name: str = Field(pattern=SLUG, description="Lowercase slug, e.g. fashion-uk")
    department: Lowered
    region: Lowered
    members: list[str] = Field(min_length=1, description="Rep ids, in rotation order")
    strategy: Strategy = "round_robin"
    required_skills: list[Lowered] = Field(default_factory=list)
    match_language: bool = False
    fallback: str | None = Field(None, description="Queue tried when nobody here can take it")
    sla: Annotated[SlaModel | None, BeforeValidator(sla_shorthand)] = Field(
        None, description="First-contact SLA; a duration alone sets first_contact"
    )
    sla_minutes: int | None = Field(
        None, ge=1, description="Old spelling of sla: {first_contact: <n>m}"
    )
    owner_match: OwnerMatchField = Field(
        None, description="Existing-owner match for this queue; absent: routing.owner_match"
    )

    @model_validator(mode="after")
    def _one_sla(self) -> QueueModel:
        if self.sla is not None and self.sla_minutes is not None:
            message = "give sla or sla_minutes (its old spelling), not both"
            fail(("sla_minutes",), message, self.sla_minutes)
        return self


class RuleModel(Model):
    name: str = Field(min_length=1)
    when: dict[str, Any] | None = Field(None, description="Condition; absent matches every lead")
    queue: str

    @field_validator("when")
    @classmethod
    def _condition(cls, raw: dict[str, Any] | None) -> dict[str, Any] | None:
        try:
            condition = parse_condition(raw, "when")
        except ConditionError as exc:
            message = re.sub(r"^when[.:]\s*", "", str(exc))
            raise error(message) from None
        unknown = sorted(f for f in _fields(condition) if not _known_field(f))
        if unknown:
            names = ", ".join(repr(f) for f in unknown)
            known = ", ".join(sorted(RULE_FIELDS - DOTTED_ROOTS))
            raise error(f"unknown field {names}; use one of {known}, utm.*, attributes.*")
        return raw


class RoutingConfig(Model):
    reps: list[RepModel] = Field(min_length=1)
    queues: list[QueueModel] = Field(min_length=1)
    rules: list[RuleModel] = Field(default_factory=list, description="Tried in order")
    default_queue: str = Field(description="Queue for leads no rule matches")
    nurture_buckets: list[Lowered] = Field(default_factory=lambda: ["nurture"])
    owner_match: OwnerMatchField = Field(
        None, description="Existing-owner match for every queue without its own; absent: off"
    )
    load_weights: LoadWeightsField = Field(
        None,
        description="An open lead's weight on its rep by bucket, e.g. {hot: 3, warm: 2, cold: 1};"
        " 'default' weighs unlisted buckets; absent: every lead weighs 1",
    )
    fairness: FairnessModel | None = Field(
        None, description="How reps' records move their share; absent: every multiplier is 1"
    )
    gone_cold: GoneColdModel | None = Field(
        None, description="When an assigned lead is cold (lead.gone_cold); absent: never"
    )
    recycling: RecyclingModel | None = Field(
        None, description="Where leads gone cold or lost go next; absent: they stay"
    )
    teams: list[TeamModel] = Field(
        default_factory=list,
        description="Reps grouped under a manager; SLA events name the owner's manager",
    )

    @model_validator(mode="after")
    def _references(self) -> RoutingConfig:
        problems: list[InitErrorDetails] = []

        def problem(loc: tuple[str | int, ...], message: str, value: Any) -> None:
            problems.append(InitErrorDetails(type=error(message), loc=loc, input=value))

        reps = _first_index([r.id for r in self.reps], "reps", "id", "rep id", problem)
        names = [q.name for q in self.queues]
        queues = _first_index(names, "queues", "name", "queue name", problem)
        _first_index([r.name for r in self.rules], "rules", "name", "rule name", problem)
        skills = {r.id: set(r.skills) for r in self.reps}
        nurture = set(self.nurture_buckets)
        fallbacks = {q.name: q.fallback for q in self.queues}
        in_a_cycle: set[str] = set()
        for qi, q in enumerate(self.queues):
            for mi, member in enumerate(q.members):
                if member not in reps:
                    problem(("queues", qi, "members", mi), f"unknown rep {member!r}", member)
                elif q.members.index(member) < mi:
                    problem(("queues", qi, "members", mi), f"rep {member!r} listed twice", member)
            for si, skill in enumerate(q.required_skills):
                if not any(skill in skills.get(m, ()) for m in q.members):
                    message = f"no member of {q.name} has skill {skill!r}"
                    problem(("queues", qi, "required_skills", si), message, skill)
            if q.fallback is not None and q.fallback not in queues:
                problem(("queues", qi, "fallback"), f"unknown queue {q.fallback!r}", q.fallback)
            cycle = _fallback_cycle(q.name, fallbacks)
            if cycle and q.name not in in_a_cycle:
                in_a_cycle.update(cycle)
                message = f"fallback cycle: {' -> '.join(cycle)}"
                problem(("queues", qi, "fallback"), message, q.fallback)
            if q.sla is not None:
                check_sla(q.name, q.sla, ("queues", qi, "sla"), reps, queues, nurture, problem)
                if q.sla.then is not None and q.sla.then.manager:
                    check_manager_escalation(qi, q.members, self.teams, problem)
        for ri, rule in enumerate(self.rules):
            if rule.name == DEFAULT_RULE:
                problem(("rules", ri, "name"), f"rule name {DEFAULT_RULE!r} is reserved", rule.name)
            if rule.queue not in queues:
                problem(("rules", ri, "queue"), f"unknown queue {rule.queue!r}", rule.queue)
        for bucket in self.load_weights or {}:
            if bucket in nurture and bucket != DEFAULT_BUCKET:
                message = f"bucket {bucket!r} is a nurture bucket: its leads never reach a rep"
                problem(("load_weights", bucket), message, bucket)
        if self.gone_cold is not None:
            check_gone_cold(self.gone_cold, nurture, problem)
        if self.recycling is not None:
            check_recycling(self.recycling, queues, reps, problem)
        check_teams(self.teams, reps, problem)
        if self.default_queue not in queues:
            problem(("default_queue",), f"unknown queue {self.default_queue!r}", self.default_queue)
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


def to_domain(config: RoutingConfig) -> Routing:
    """The validated routing config as frozen domain values, reps and queues in config order."""
    return Routing(
        reps={r.id: rep_domain(r) for r in config.reps},
        queues={q.name: _queue(q) for q in config.queues},
        rules=tuple(Rule(r.name, parse_condition(r.when), r.queue) for r in config.rules),
        default_queue=config.default_queue,
        nurture_buckets=frozenset(config.nurture_buckets),
        owner_match=owner_match(config.owner_match),
        load_weights=load_weights(config.load_weights),
        fairness=fairness_policy(config.fairness),
        gone_cold=cold_policy(config.gone_cold),
        recycling=recycling_policy(config.recycling),
        teams=teams_domain(config.teams),
    )


def load_routing_config(path: Path) -> RoutingConfig:
    """Read and validate the file's routing config; raises ConfigError naming file and key."""
    return load_section(path, SECTION, RoutingConfig)


def load_routing(path: Path) -> Routing:
    """The file's routing config as domain values, e.g. the first version at start."""
    return to_domain(load_routing_config(path))


def _queue(queue: QueueModel) -> Queue:
    return Queue(
        name=queue.name,
        department=queue.department,
        region=queue.region,
        members=tuple(queue.members),
        strategy=queue.strategy,
        required_skills=frozenset(queue.required_skills),
        match_language=queue.match_language,
        fallback=queue.fallback,
        sla=sla_policy(queue.sla, queue.sla_minutes),
        owner_match=owner_match(queue.owner_match),
    )


def _fields(condition: Condition) -> set[str]:
    if isinstance(condition, Leaf):
        return {condition.field}
    if isinstance(condition, Not):
        return _fields(condition.item)
    return {f for item in condition.items for f in _fields(item)}


def _known_field(field: str) -> bool:
    root, dot, rest = field.partition(".")
    if dot:
        return root in DOTTED_ROOTS and bool(rest)
    return field in RULE_FIELDS


def _fallback_cycle(start: str, fallbacks: dict[str, str | None]) -> list[str] | None:
    """The chain from ``start`` when it comes back to ``start``; other loops are reported
    at the queue where they begin."""
    chain = [start]
    current = fallbacks.get(start)
    while current is not None and current in fallbacks:
        chain.append(current)
        if current == start:
            return chain
        if current in chain[:-1]:
            return None
        current = fallbacks[current]
    return None


def _first_index(
    names: list[str], section: str, key: str, what: str, problem: Report
) -> dict[str, int]:
    """Index of each name's first use; a later use is reported as a duplicate."""
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in first:
            problem(
                (section, i, key),
                f"duplicate {what} {name!r} (also {section}[{first[name]}])",
                name,
            )
        else:
            first[name] = i
    return first
