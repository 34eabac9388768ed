"""A CSV export read into raw leads, one per row, numbered as a spreadsheet shows them.

Pure: bytes in, rows out. The header row (row 1) names the columns: through the source's
``mapping`` (lead field -> column name) or by the standard field names (``email``,
``phone``, ``first_name``, ... case-insensitive); any other column is kept under
``attributes``. A file that is not valid CSV is refused whole, naming the line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.capture.domain.lead import Problem
from services.capture.sources.mapping import csv_columns, csv_row_lead


class CsvError(ValueError):
    """The file cannot be read as CSV; ``line`` is where (1 = the header line)."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


class TooManyRows(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} rows; split the file")
        self.limit = limit


@dataclass(frozen=True)
class CsvRow:
    """Row ``row`` (the header is row 1) as a raw lead, or the problems that stop it."""

    row: int
    lead: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)


def read_csv(body: bytes, mapping: Mapping[str, str], max_rows: int) -> list[CsvRow]:
    """Every non-blank data row; raises CsvError or TooManyRows for the file as a whole."""
    text = _utf8(body)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise CsvError(1, "no header row; the first row must name the columns")
        columns = csv_columns(header, mapping)
        if not {"email", "phone"} & set(columns.values()):
            raise CsvError(
                1,
                "no email or phone column; name one 'email' or 'phone', or map it in the"
                " source's mapping",
            )
        rows: list[CsvRow] = []
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # blank lines between or after the rows
            if len(rows) == max_rows:
                raise TooManyRows(max_rows)
            rows.append(_row(number, cells, len(header), columns))
    except csv.Error as exc:
        raise CsvError(reader.line_num or 1, str(exc)) from None
    return rows


def _row(number: int, cells: list[str], width: int, columns: Mapping[int, str]) -> CsvRow:
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        problem = f"has {len(cells)} cells but the header has {width} (an unquoted comma?)"
        return CsvRow(number, {}, [Problem("row", problem)])
    return CsvRow(number, csv_row_lead(cells, columns))


def _utf8(body: bytes) -> str:
    """UTF-8 with or without a byte-order mark (Excel writes one)."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise CsvError(line, "is not UTF-8; export the file as 'CSV UTF-8'") from None
