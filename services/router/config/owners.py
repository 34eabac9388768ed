"""Existing-owner match in the routing config, for every queue (``routing.owner_match``) or one
queue (``queues[i].owner_match``, which wins)::

    owner_match: [email_domain, company]          # the account keys, tried in order
    owner_match: {by: [email_domain, company], owner_is: contacted}
    owner_match: []                               # off (also: false)

``owner_is: assigned`` (default): a rep who got one of the account's leads owns it;
``contacted``: only a rep who has reached one of them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from services.router.config.fields import Model, error, lower
from services.router.domain.model import ACCOUNT_FIELDS, AccountField, OwnerIs, OwnerMatch


def _account_field(value: Any) -> Any:
    value = lower(value)
    if isinstance(value, str) and value not in ACCOUNT_FIELDS:
        raise error(f"unknown account key {value!r}; use {' or '.join(ACCOUNT_FIELDS)}")
    return value


class OwnerMatchModel(Model):
    by: list[Annotated[AccountField, BeforeValidator(_account_field)]] = Field(
        description="Account keys, tried in order: email_domain (free-mail never counts),"
        " company (case, punctuation and legal suffixes ignored); [] turns matching off"
    )
    owner_is: OwnerIs = Field(
        "assigned",
        description="assigned: a rep who got one of the account's leads owns it;"
        " contacted: only a rep who has reached one",
    )

    @field_validator("by")
    @classmethod
    def _distinct(cls, by: list[AccountField]) -> list[AccountField]:
        twice = sorted({f for f in by if by.count(f) > 1})
        if twice:
            raise error(f"account key listed twice: {', '.join(twice)}")
        return by


def owner_match_shorthand(value: Any) -> Any:
    """A list is ``{by: list}``; ``false`` is ``{by: []}`` (off)."""
    if value is False:
        return {"by": []}
    return {"by": value} if isinstance(value, list | tuple) else value


OwnerMatchField = Annotated[OwnerMatchModel | None, BeforeValidator(owner_match_shorthand)]


def owner_match(model: OwnerMatchModel | None) -> OwnerMatch | None:
    if model is None:
        return None
    return OwnerMatch(tuple(model.by), model.owner_is)
