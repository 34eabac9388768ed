"""One declarative condition language for scoring rules and routing rules.

In the YAML config a condition is either a leaf test on one lead field, or a combinator::

    {field: country, in: [GB, IE]}          # leaf: field plus exactly one operator
    {all: [cond, ...]}  {any: [cond, ...]}  {not: cond}

Operators: eq, ne, in, not_in, gt, gte, lt, lte, contains, matches (regex, search),
exists (true/false). Fields may be dotted paths (``utm.source``, ``attributes.budget``).
Comparisons are case-insensitive for strings. A missing field fails every operator except
``exists: false`` and ``ne``/``not_in``. Parsing validates operators, operand types and
regexes, so a bad rule fails at load time, not at routing time; evaluation is pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

OPERATORS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "matches", "exists")


class ConditionError(ValueError):
    """A condition in the config is malformed; the message says where and why."""


@dataclass(frozen=True)
class Leaf:
    field: str
    op: str
    value: Any
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Union[Leaf, All, AnyOf, Not]  # noqa: UP007 - used at runtime as a type alias

ALWAYS = All(())


def parse_condition(raw: Any, where: str = "when") -> Condition:
    """Build a condition from its YAML form, or raise ConditionError naming ``where``."""
    if raw is None:
        return ALWAYS
    if not isinstance(raw, Mapping):
        raise ConditionError(f"{where}: a condition must be a mapping, got {type(raw).__name__}")
    keys = set(raw)
    for combinator in ("all", "any"):
        if combinator in keys:
            if keys != {combinator}:
                raise ConditionError(f"{where}: '{combinator}' must stand alone")
            items = raw[combinator]
            if not isinstance(items, list):
                raise ConditionError(f"{where}.{combinator}: must be a list of conditions")
            parsed = tuple(
                parse_condition(c, f"{where}.{combinator}[{i}]") for i, c in enumerate(items)
            )
            return All(parsed) if combinator == "all" else AnyOf(parsed)
    if "not" in keys:
        if keys != {"not"}:
            raise ConditionError(f"{where}: 'not' must stand alone")
        return Not(parse_condition(raw["not"], f"{where}.not"))
    if "field" not in keys:
        raise ConditionError(f"{where}: needs 'field' and one operator, or all/any/not")
    field = raw["field"]
    if not isinstance(field, str) or not field:
        raise ConditionError(f"{where}.field: must be a non-empty string")
    ops = keys - {"field"}
    if len(ops) != 1:
        raise ConditionError(
            f"{where}: needs exactly one operator of {', '.join(OPERATORS)}; got {sorted(ops)}"
        )
    op = ops.pop()
    if op not in OPERATORS:
        raise ConditionError(f"{where}.{op}: unknown operator (use one of {', '.join(OPERATORS)})")
    return _leaf(field, op, raw[op], f"{where}.{op}")


def _leaf(field: str, op: str, value: Any, where: str) -> Leaf:
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise ConditionError(f"{where}: must be a non-empty list")
        return Leaf(field, op, frozenset(_norm(v) for v in value))
    if op in ("gt", "gte", "lt", "lte"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConditionError(f"{where}: must be a number")
        return Leaf(field, op, value)
    if op == "exists":
        if not isinstance(value, bool):
            raise ConditionError(f"{where}: must be true or false")
        return Leaf(field, op, value)
    if op == "matches":
        if not isinstance(value, str):
            raise ConditionError(f"{where}: must be a regular expression string")
        try:
            pattern = re.compile(value, re.IGNORECASE)
        except re.error as exc:
            raise ConditionError(f"{where}: invalid regular expression: {exc}") from exc
        return Leaf(field, op, value, pattern)
    if isinstance(value, list | dict):
        raise ConditionError(f"{where}: must be a single value")
    return Leaf(field, op, _norm(value))


def _norm(value: Any) -> Any:
    return value.strip().casefold() if isinstance(value, str) else value


def lookup(facts: Mapping[str, Any], path: str) -> Any:
    """Dotted-path lookup; ``None`` when any step is missing."""
    current: Any = facts
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def evaluate(cond: Condition, facts: Mapping[str, Any]) -> bool:
    if isinstance(cond, All):
        return all(evaluate(c, facts) for c in cond.items)
    if isinstance(cond, AnyOf):
        return any(evaluate(c, facts) for c in cond.items)
    if isinstance(cond, Not):
        return not evaluate(cond.item, facts)
    return _test(cond, lookup(facts, cond.field))


def _test(leaf: Leaf, actual: Any) -> bool:
    op = leaf.op
    if op == "exists":
        present = actual is not None and actual != ""
        return present is leaf.value
    if actual is None:
        return op in ("ne", "not_in")
    value = _norm(actual)
    if op == "eq":
        return bool(value == leaf.value)
    if op == "ne":
        return bool(value != leaf.value)
    if op == "in":
        return _hashable(value) in leaf.value
    if op == "not_in":
        return _hashable(value) not in leaf.value
    if op == "contains":
        if isinstance(value, list | tuple | set | frozenset):
            return leaf.value in {_norm(v) for v in value}
        return isinstance(value, str) and str(leaf.value) in value
    if op == "matches":
        assert leaf.pattern is not None
        return leaf.pattern.search(str(actual)) is not None
    number = _as_number(actual)
    if number is None:
        return False
    limit = leaf.value
    return bool(
        {
            "gt": number > limit,
            "gte": number >= limit,
            "lt": number < limit,
            "lte": number <= limit,
        }[op]
    )


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) else str(value)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None
