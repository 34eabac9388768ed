"""Rendering the dashboard's pages: one Jinja2 environment (autoescaped, templates inside
the package), the figure formats, and the headers every page carries.

The stylesheet is inlined into each page and allowed by its hash in the page's
Content-Security-Policy: pages run no script and load nothing, from a CDN or from us, so
they work offline and nothing on them can be swapped by a third party.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

HERE = Path(__file__).resolve().parent


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def duration(seconds: float | None) -> str:
    """A wait as a person reads it: 45 s, 18.8 min, 5.6 h, 2.1 d."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def money(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


def number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def raw(value: Any) -> str:
    """The figure as the API writes it (JSON), for ``data-value``: what a test compares."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    formats = {"percent": percent, "duration": duration, "money": money, "number": number}
    env.filters.update(raw=raw, **formats)
    env.globals.update(formats)  # also as values: a macro is given the format to use
    env.globals["stylesheet"] = Markup(stylesheet())
    return env


@functools.cache
def stylesheet() -> str:
    return (HERE / "static" / "dashboard.css").read_text(encoding="utf-8")


@functools.cache
def content_security_policy() -> str:
    digest = base64.b64encode(hashlib.sha256(stylesheet().encode()).digest()).decode()
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'self' data:;"
        " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(template).render(**context)
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Content-Security-Policy": content_security_policy(),
            "Referrer-Policy": "same-origin",
            "X-Frame-Options": "DENY",
        },
    )
