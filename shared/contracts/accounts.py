"""The account a lead belongs to, as the ``account`` field of the lead profile defines it.

Capture computes these keys when it publishes a lead (``LeadProfile.account``) and uses the
same keys for its identity rules; the router routes a lead of a known account to its owner by
them. The definition lives with the contract, so producer and consumers share one meaning
without a service importing another's code: an e-mail's domain names an account unless it
is a free-mail domain, and a company name is compared without case, punctuation or legal
suffixes ("ACME Shoes Ltd." = "Acme shoes").
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

FREE_MAIL = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de",
        "hotmail.com", "hotmail.co.uk", "hotmail.fr", "outlook.com", "live.com", "msn.com",
        "icloud.com", "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com",
        "gmx.de", "gmx.net", "gmx.com", "web.de", "t-online.de", "mail.ru", "yandex.ru",
        "qq.com", "163.com", "126.com", "orange.fr", "free.fr", "libero.it", "btinternet.com",
    }
)  # fmt: skip
_LEGAL_SUFFIX = re.compile(
    r"\b(ltd|limited|inc|incorporated|llc|llp|gmbh|ag|sa|sas|sarl|plc|corp|corporation|co"
    r"|company|bv|nv|srl|spa|oy|ab|as|pty|kg)\b"
)
_NOT_ALNUM = re.compile(r"[^\w]+")


def company_key(name: str) -> str | None:
    text = _NOT_ALNUM.sub(" ", name.casefold())
    text = " ".join(_LEGAL_SUFFIX.sub(" ", text).split())
    return text or None


def email_domain(email: str) -> str | None:
    domain = email.rpartition("@")[2].casefold()
    return None if not domain or domain in FREE_MAIL else domain


class AccountKeys(BaseModel):
    """The keys an account is known by; each is None when the lead does not give it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    email_domain: str | None = Field(
        None, description="The e-mail's domain, lower case; none for free-mail (gmail.com, ...)"
    )
    company_key: str | None = Field(
        None, description="The company name without case, punctuation or legal suffixes"
    )

    @classmethod
    def of(cls, email: object, company: object) -> AccountKeys:
        return cls(
            email_domain=email_domain(email) if isinstance(email, str) and email else None,
            company_key=company_key(company) if isinstance(company, str) and company else None,
        )
