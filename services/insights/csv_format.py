"""A KPI report as CSV: one row per figure, ``metric,value``, the metric being the dotted
path to the figure in the JSON answer (``by_rep.ana.captured_to_assigned_s.p50``).

One long table for every report, rather than a shape per report, so a spreadsheet can pivot
any of them and the CSV can never disagree with the JSON: it is the JSON, flattened. Rows of
a list are named by their natural key (day, rep, team, reason) or else their position.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

ROW_KEYS = ("day", "rep", "team", "reason")


def _name(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for key in ROW_KEYS:
            if isinstance(item.get(key), str):
                return str(item[key])
    return str(index)


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted path, leaf value)`` for every figure, in the JSON's order."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from flatten(inner, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from flatten(
                item, f"{prefix}.{_name(item, index)}" if prefix else _name(item, index)
            )
    else:
        yield prefix, value


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe(text: str) -> str:
    """A text that a spreadsheet would run as a formula is quoted (CSV injection)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return _safe(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["metric", "value"])
    for path, leaf in flatten(report):
        writer.writerow([_safe(path), _cell(leaf)])
    return out.getvalue()
