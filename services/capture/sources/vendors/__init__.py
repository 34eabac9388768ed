"""Pure parsers for vendors' lead webhooks, by kind name.

Each parser is a :data:`~services.capture.sources.base.Parser`: the vendor's request in, raw
leads (shaped like ``POST /v1/leads`` bodies) out, :class:`PayloadError` naming the path in the
vendor's payload when the body is not that vendor's shape. No I/O.

Some vendors need more than a parser, and those helpers are exported here too:
:func:`leadgen_ids` (Meta's webhook only names leads to fetch), :func:`google_key_of` (the
secret in a Google Ads body), :func:`make_linkedin_parser` (question ids when LinkedIn's form is
not in the response), :func:`make_generic_parser` and :func:`make_mapped` (configured paths).
"""

from __future__ import annotations

from services.capture.sources.base import Parser

from . import (
    calendly,
    generic,
    google_ads,
    hubspot,
    intercom,
    jotform,
    linkedin,
    mailchimp,
    meta,
    passthrough,
    salesforce,
    typeform,
    unbounce,
)
from .generic import make_generic_parser, make_mapped
from .google_ads import google_key_of
from .linkedin import make_parser as make_linkedin_parser
from .meta import LeadgenRef, leadgen_ids
from .salesforce import return_url

__all__ = [
    "PARSERS",
    "LeadgenRef",
    "google_key_of",
    "leadgen_ids",
    "make_generic_parser",
    "make_linkedin_parser",
    "make_mapped",
    "return_url",
]

PARSERS: dict[str, Parser] = {
    "salesforce_web_to_lead": salesforce.parse,
    "meta_lead_ads": meta.parse,
    "google_ads": google_ads.parse,
    "linkedin": linkedin.parse,
    "hubspot_forms": hubspot.parse_form,
    "hubspot_contact": hubspot.parse_contact,
    "typeform": typeform.parse,
    "unbounce": unbounce.parse,
    "mailchimp": mailchimp.parse,
    "jotform": jotform.parse,
    "calendly": calendly.parse,
    "intercom": intercom.parse,
    "json": passthrough.parse,
    "generic": generic.parse,  # same-named top-level fields; configure with make_generic_parser
}
