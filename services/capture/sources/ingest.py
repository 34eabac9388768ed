"""Source requests become leads: parse the vendor's body, attribute, clean, store.

The use cases behind :mod:`services.capture.api.sources`. Leads go in through capture's one
entry, :mod:`services.capture.intake`, once cleaned
(:func:`services.capture.domain.cleaning.clean_lead`): the group-commit intake for a single
lead (the same answer as ``POST /v1/leads``) or :func:`intake.capture_each` for several.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from services.capture import idempotency, intake
from services.capture.answers import Answer
from services.capture.domain.cleaning import clean_lead
from services.capture.domain.lead import CleanLead, InvalidLead
from services.capture.intake import Outcome
from services.capture.sources.base import InboundRequest, Parser, UnreadableLead
from services.capture.sources.csv_import import CsvRow
from services.capture.sources.mapping import with_source
from services.capture.sources.model import Source, Sources
from services.capture.sources.vendors import PARSERS, make_generic_parser, make_mapped

if TYPE_CHECKING:
    from services.capture.deps import CaptureRuntime

CSV_CHUNK = 1000  # rows per transaction


@dataclass
class Catalog:
    """The configured sources with their parsers."""

    sources: Sources
    parsers: Mapping[str, Parser]

    @classmethod
    def of(cls, sources: Sources) -> Catalog:
        return cls(sources, build_parsers(sources))

    def get(self, name: str) -> Source | None:
        return self.sources.by_name.get(name)


def build_parsers(sources: Sources) -> dict[str, Parser]:
    """Each source's parser: ``generic`` from its mapping, vendors with its overrides."""
    out: dict[str, Parser] = {}
    for source in sources.by_name.values():
        if source.kind == "generic":
            out[source.name] = make_generic_parser(source.mapping)
        elif source.mapping:
            out[source.name] = make_mapped(PARSERS[source.kind], source.mapping)
        else:
            out[source.name] = PARSERS[source.kind]
    return out


def vendor_leads(catalog: Catalog, source: Source, req: InboundRequest) -> list[dict[str, Any]]:
    """Raw leads from a request that carries them (notifications that only point at records
    are scheduled as fetch jobs before this, see :mod:`.notifications`)."""
    return catalog.parsers[source.name](req)


def clean_all(
    raws: list[dict[str, Any]], source: Source
) -> tuple[list[tuple[int, CleanLead]], dict[int, Outcome]]:
    """Attribute and clean each raw lead; the rejected ones with the problems."""
    valid: list[tuple[int, CleanLead]] = []
    rejected: dict[int, Outcome] = {}
    for i, raw in enumerate(raws):
        if isinstance(raw, UnreadableLead):
            rejected[i] = Outcome(i, "rejected", problems=tuple(raw.problems))
            continue
        try:
            valid.append((i, clean_lead(with_source(raw, source))))
        except InvalidLead as exc:
            rejected[i] = Outcome(i, "rejected", problems=tuple(exc.problems))
    return valid, rejected


async def submit_one(
    runtime: CaptureRuntime,
    route: str,
    lead: CleanLead,
    raw: dict[str, Any],
    key: str | None,
    actor: str,
) -> Answer:
    """One lead through the group-commit intake: answered exactly like ``POST /v1/leads``
    (and remembered like it, so a vendor's retry of the same body gets the same answer)."""
    request_key = idempotency.request_key(route, raw, key, actor)
    return await runtime.deps.intake.submit(lead, request_key, actor)


async def import_rows(
    runtime: CaptureRuntime,
    source: Source,
    rows: list[CsvRow],
    actor: str,
    chunk: int = CSV_CHUNK,
) -> list[tuple[int, Outcome]]:
    """CSV rows as leads, ``chunk`` rows per transaction; each row answered on its own (a
    person twice in the file, or already known, is a duplicate of that lead)."""
    out = [(r.row, Outcome(0, "rejected", problems=tuple(r.problems))) for r in rows if r.problems]
    readable = [r for r in rows if not r.problems]
    for start in range(0, len(readable), chunk):
        part = readable[start : start + chunk]
        valid, rejected = clean_all([r.lead for r in part], source)
        outcomes = await intake.capture_each(runtime, len(part), valid, rejected, actor)
        out += [(r.row, o) for r, o in zip(part, outcomes, strict=True)]
    return out
