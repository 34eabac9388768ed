"""Rows to per-column arrays, for set-based statements.

Batches are written with one statement, ``INSERT ... SELECT * FROM unnest(CAST(:ids AS
uuid[]), CAST(:names AS text[]), ...)``, which takes one array per column. This builds
those arrays from a batch of row objects, so each store names its columns once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, TypeVar

Row = TypeVar("Row")


def column_params(
    rows: Sequence[Row], **columns: str | Callable[[Row], Any]
) -> dict[str, list[Any]]:
    """``{param: [value of each row]}``; a column is an attribute name or a function of a row,
    e.g. ``column_params(points, xs="x", sums=lambda p: p.x + p.y)``."""
    out: dict[str, list[Any]] = {}
    for param, column in columns.items():
        read = attrgetter(column) if isinstance(column, str) else column
        out[param] = [read(row) for row in rows]
    return out
