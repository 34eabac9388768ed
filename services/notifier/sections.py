"""Reading the config document for the notifier: its own section, where what sends nothing
needs no secret, and the people the routing section names.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shared.config import ConfigError, interpolate, read_config_file

log = logging.getLogger(__name__)


def read_notifier_section(path: Path, environ: Mapping[str, str] | None = None) -> Any:
    """The notifier section with its ``${...}`` resolved.

    What sends nothing needs no secret: a **disabled** subscription whose variables are unset
    or empty (a Slack channel whose webhook URL is not given yet), and the ``smtp`` or ``sms``
    provider when no enabled subscription sends e-mail or SMS, are left out with a warning
    instead of failing the start. The example ships such subscriptions, and Docker Compose
    and the Kubernetes Secret pass their variables empty until they are set. Anything
    enabled with an unset variable is an error naming it.
    """
    env = os.environ if environ is None else environ
    raw = read_config_file(path).get("notifier") or {}
    if not isinstance(raw, dict):
        return raw
    at: tuple[str | int, ...] = ("notifier",)
    subs = raw.get("subscriptions")
    kept: list[Any] = []
    for i, sub in enumerate(subs if isinstance(subs, list) else []):
        try:
            kept.append(
                _resolve_if_used(
                    sub, _disabled(sub, env, path), env, path, (*at, "subscriptions", i)
                )
            )
        except _Unused as unused:
            log.info("notifier: disabled subscription %r not loaded: %s", unused.name, unused.why)
    used = {
        sub.get("channel")
        for sub in kept
        if isinstance(sub, dict) and not _disabled(sub, env, path)
    }
    section: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "subscriptions":
            section[key] = (
                kept if isinstance(subs, list) else interpolate(subs, env, path, (*at, key))
            )
            continue
        try:
            section[key] = _resolve_if_used(
                value,
                key in ("smtp", "sms") and key.replace("smtp", "email") not in used,
                env,
                path,
                (*at, key),
            )
        except _Unused as unused:
            log.info(
                "notifier: %s not loaded (no enabled subscription uses it): %s", key, unused.why
            )
    return section


class _Unused(Exception):
    def __init__(self, name: Any, why: str) -> None:
        self.name, self.why = name, why


def _resolve_if_used(
    value: Any, unused: bool, env: Mapping[str, str], path: Path, at: tuple[str | int, ...]
) -> Any:
    """``value`` resolved; if it is not used, an unset or empty variable raises _Unused."""
    if not unused:
        return interpolate(value, env, path, at)
    try:
        return interpolate(value, {k: v for k, v in env.items() if v != ""}, path, at)
    except ConfigError as exc:
        name = value.get("name") if isinstance(value, dict) else None
        raise _Unused(name, str(exc)) from None


def _disabled(sub: Any, env: Mapping[str, str], path: Path) -> bool:
    """A subscription says ``enabled: false`` (or a variable it names says so)."""
    if not isinstance(sub, dict):
        return False
    value = sub.get("enabled", True)
    if isinstance(value, str):
        try:
            value = interpolate(value, env, path)
        except ConfigError:
            return False
    return value is False or str(value).strip().lower() in ("false", "0", "no", "off")


def routing_section(path: Path) -> Any:
    """The config document's ``routing`` section as written (reps, teams): the notifier reads
    people's names, e-mails, zones and managers from it (:func:`alerts_config.build_roster`)."""
    return read_config_file(path).get("routing")
