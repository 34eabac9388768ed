"""`leadflow keys`: a key is printed once and works; rotation overlaps; revocation stops it;
every scope can be given and an unknown one is refused."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from leadflow.cli import main
from shared import clock
from shared.auth import keyring
from shared.auth.principal import Unauthenticated
from shared.auth.scopes import Scope


def _printed_key(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("lfk_"))


def test_new_list_rotate_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ring = tmp_path / "api-keys.json"
    scopes = [arg for scope in Scope for arg in ("--scope", scope.value)]
    assert main(["keys", "new", "ops", *scopes, "--owner", "ops team", "--file", str(ring)]) == 0
    first = _printed_key(capsys.readouterr().out)
    assert first not in ring.read_text()
    principal = keyring.KeyRing(ring).index().authenticate(first, clock.now())
    assert principal.subject == "key:ops" and principal.scopes == {s.value for s in Scope}

    assert main(["keys", "list", "--file", str(ring)]) == 0
    listing = capsys.readouterr().out
    assert "ops" in listing and "active" in listing and first not in listing

    assert main(["keys", "rotate", "ops", "--overlap", "1h", "--file", str(ring)]) == 0
    second = _printed_key(capsys.readouterr().out)
    index = keyring.KeyRing(ring).index()
    index.authenticate(first, clock.now())  # still inside the overlap
    index.authenticate(second, clock.now() + timedelta(days=30))
    with pytest.raises(Unauthenticated):
        index.authenticate(first, clock.now() + timedelta(hours=1, seconds=1))

    assert main(["keys", "revoke", "ops", "--file", str(ring)]) == 0
    with pytest.raises(Unauthenticated) as refused:
        keyring.KeyRing(ring).index().authenticate(second, clock.now())
    assert refused.value.reason == "revoked_credentials"


def test_an_unknown_scope_or_id_is_refused_naming_it(tmp_path: Path) -> None:
    ring = str(tmp_path / "api-keys.json")
    with pytest.raises(SystemExit, match="unknown scope"):
        main(["keys", "new", "x", "--scope", "leads:everything", "--file", ring])
    with pytest.raises(SystemExit, match="no key with id 'ghost'"):
        main(["keys", "revoke", "ghost", "--file", ring])
