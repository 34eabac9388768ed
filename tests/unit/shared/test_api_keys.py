"""API keys as values: checking, expiry, rotation with overlap, revocation, the ring file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.auth import keyring, keys
from shared.auth.principal import Unauthenticated

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def ring_with(secret: str, **kw: object) -> tuple[keys.ApiKey, ...]:
    return keys.create((), key_id="crm", owner="crm team", scopes=["leads:read"], now=T0,
                       secret=secret, **kw)  # type: ignore[arg-type]  # fmt: skip


def test_a_key_authenticates_as_its_id_with_its_scopes() -> None:
    secret = keys.new_secret()
    principal = keys.KeyIndex(ring_with(secret)).authenticate(secret, T0)
    assert principal.subject == "key:crm" and principal.scopes == {"leads:read"}
    assert principal.may("leads:read") and not principal.may("leads:erase")


def test_only_the_hash_is_kept() -> None:
    secret = keys.new_secret()
    document = keys.to_document(ring_with(secret))
    assert secret not in repr(document) and secret not in repr(ring_with(secret))
    assert document["keys"][0]["secrets"][0]["sha256"] == keys.digest(secret)


@pytest.mark.parametrize("presented", ["", "lfk_wrong", "x" * 5000, "\udcff"])
def test_an_unknown_key_is_refused_without_saying_why_beyond_invalid(presented: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        keys.KeyIndex(ring_with(keys.new_secret())).authenticate(presented, T0)
    assert refused.value.reason == "invalid_credentials"


def test_an_expired_key_is_refused_as_expired() -> None:
    secret = keys.new_secret()
    index = keys.KeyIndex(ring_with(secret, expires_at=T0 + timedelta(days=1)))
    index.authenticate(secret, T0 + timedelta(hours=23))
    with pytest.raises(Unauthenticated) as refused:
        index.authenticate(secret, T0 + timedelta(days=1))
    assert refused.value.reason == "expired_credentials"


def test_rotation_keeps_the_old_secret_for_the_overlap_only() -> None:
    old, new = keys.new_secret(), keys.new_secret()
    later = T0 + timedelta(days=30)
    ring = keys.rotate(ring_with(old), "crm", now=later, overlap=timedelta(hours=24), secret=new)
    index = keys.KeyIndex(ring)
    assert index.authenticate(old, later + timedelta(hours=23)).subject == "key:crm"
    assert index.authenticate(new, later + timedelta(days=400)).subject == "key:crm"
    with pytest.raises(Unauthenticated):
        index.authenticate(old, later + timedelta(hours=24))


def test_revocation_stops_every_secret_of_the_key() -> None:
    old, new = keys.new_secret(), keys.new_secret()
    ring = keys.rotate(ring_with(old), "crm", now=T0, overlap=timedelta(days=1), secret=new)
    index = keys.KeyIndex(keys.revoke(ring, "crm", now=T0))
    for secret in (old, new):
        with pytest.raises(Unauthenticated) as refused:
            index.authenticate(secret, T0)
        assert refused.value.reason == "revoked_credentials"


def test_ids_are_unique_and_well_formed() -> None:
    ring = ring_with(keys.new_secret())
    with pytest.raises(keys.KeyRingError):
        keys.create(ring, key_id="crm", owner="", scopes=[], now=T0, secret="lfk_x")
    with pytest.raises(keys.KeyRingError):
        keys.create((), key_id="has space", owner="", scopes=[], now=T0, secret="lfk_x")
    with pytest.raises(keys.KeyRingError):
        keys.revoke(ring, "nobody", now=T0)


def test_the_ring_file_round_trips_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    secret = keys.new_secret()
    keyring.write_keys(path, ring_with(secret, rate_per_s=5.0, burst=10))
    assert path.stat().st_mode & 0o777 == 0o600
    (back,) = keyring.read_keys(path)
    assert back == ring_with(secret, rate_per_s=5.0, burst=10)[0]


def test_a_service_sees_a_revocation_after_the_reload_interval(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    secret = keys.new_secret()
    keyring.write_keys(path, ring_with(secret))
    now = [0.0]
    ring = keyring.KeyRing(path, clock=lambda: now[0])
    ring.index().authenticate(secret, T0)
    keyring.write_keys(path, keys.revoke(keyring.read_keys(path), "crm", now=T0))
    now[0] += keyring.RELOAD_S
    with pytest.raises(Unauthenticated):
        ring.index().authenticate(secret, T0)


def test_a_broken_ring_file_keeps_the_keys_last_read(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    secret = keys.new_secret()
    keyring.write_keys(path, ring_with(secret))
    now = [0.0]
    ring = keyring.KeyRing(path, clock=lambda: now[0])
    ring.index()
    path.write_text("{not json")
    now[0] += keyring.RELOAD_S
    assert ring.index().authenticate(secret, T0).subject == "key:crm"


def test_a_missing_ring_refuses_everyone(tmp_path: Path) -> None:
    ring = keyring.KeyRing(tmp_path / "absent.json")
    with pytest.raises(Unauthenticated):
        ring.index().authenticate("lfk_anything", T0)
