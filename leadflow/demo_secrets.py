"""The demo's webhook signing secret, made on the first ``leadflow up`` and kept in its home.

The example config names its secrets (``${LEADFLOW_DEMO_WEBHOOK_SECRET}``) and never holds
them. So that ``leadflow up`` still needs no setup, the first start writes a fresh random
secret to ``<home>/secrets/<NAME>`` (mode 0600, the directory 0700) and every process it
starts gets ``NAME_FILE`` pointing there: the services and the demo receiver read the same
secret, and the value never sits in a command line or an environment block. A secret the
user set (``NAME`` or ``NAME_FILE``) wins and no file is made.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from shared.config import FILE_SUFFIX

# Every variable the example config's secrets name; all Standard Webhooks secrets.
DEMO_SECRETS = ("LEADFLOW_DEMO_WEBHOOK_SECRET",)


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def demo_secret_env(home: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """``{NAME_FILE: path}`` for each demo secret the environment does not give, its file
    made on first use (and kept, so deliveries signed before a restart still verify)."""
    out: dict[str, str] = {}
    for name in DEMO_SECRETS:
        if name in environ or name + FILE_SUFFIX in environ:
            continue
        out[name + FILE_SUFFIX] = str(_secret_file(home / "secrets", name))
    return out


def _secret_file(folder: Path, name: str) -> Path:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(new_webhook_secret() + "\n")
    return path


@contextmanager
def throwaway_demo_secrets() -> Iterator[None]:
    """Random demo secrets in this process's environment while the block runs, for code
    that must load the example config but signs nothing (``leadflow docs``)."""
    added = {
        name: new_webhook_secret()
        for name in DEMO_SECRETS
        if name not in os.environ and name + FILE_SUFFIX not in os.environ
    }
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)
