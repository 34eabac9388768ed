"""JWTs from an identity provider: real keys (cryptography), real tokens (PyJWT), a JWKS from
a file and from a real HTTP server; every bad token is a 401 reason, never another error."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt import PyJWK
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.auth import jwks as jwks_module
from shared.auth.jwt import JwtSettings, JwtVerifier, key_fits, looks_like_jwt
from shared.auth.principal import Principal, Unauthenticated
from tests.support.http import LocalServer, serving

ISSUER = "https://id.example.com/"
AUDIENCE = "leadflow"


@dataclass
class Signer:
    """One identity-provider key: signs tokens and publishes itself as a JWK."""

    kid: str
    private: Any
    alg: str

    @property
    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        jwk: dict[str, Any]
        if self.alg[:2] in ("RS", "PS"):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        elif self.alg[:2] == "ES":
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig"}

    def sign(self, header: dict[str, Any] | None = None, **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 600}
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        headers = {"kid": self.kid, **(header or {})}
        headers = {name: value for name, value in headers.items() if value is not None}
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=headers)

    @property
    def public_pem(self) -> bytes:
        return bytes(
            self.private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


RSA_KEY = Signer("rsa-1", rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")
EC_KEY = Signer("ec-1", ec.generate_private_key(ec.SECP256R1()), "ES256")
ED_KEY = Signer("ed-1", ed25519.Ed25519PrivateKey.generate(), "EdDSA")
STRANGER = Signer("rsa-1", rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")


def jwks(*signers: Signer) -> dict[str, Any]:
    return {"keys": [signer.jwk for signer in signers]}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A token an attacker writes by hand: unsigned, or HMAC'd with a secret of their choice."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = (
        b"" if secret is None else hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    )
    return f"{signing_input}.{_b64(signature)}"


def good_claims() -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 600}


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(RSA_KEY, EC_KEY, ED_KEY)))
    return path


@pytest.fixture
def verifier(jwks_file: Path) -> JwtVerifier:
    return JwtVerifier(JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks_file=jwks_file))


async def test_a_token_signed_by_the_providers_key_becomes_a_principal(verifier: JwtVerifier):
    token = RSA_KEY.sign(scope="leads:read leads:write")
    assert await verifier.verify(token) == Principal(
        subject="jwt:user-1", scopes=frozenset({"leads:read", "leads:write"}), via="jwt"
    )


async def test_scopes_are_read_from_a_list_claim_when_configured(jwks_file: Path):
    settings = JwtSettings(
        issuer=ISSUER, audience=AUDIENCE, jwks_file=jwks_file, scopes_claim="scp"
    )
    principal = await JwtVerifier(settings).verify(EC_KEY.sign(scp=["leads:erase", "reports:read"]))
    assert principal.scopes == {"leads:erase", "reports:read"}


@pytest.mark.parametrize("signer", [RSA_KEY, EC_KEY, ED_KEY], ids=lambda s: s.alg)
async def test_rsa_ec_and_eddsa_keys_all_verify(verifier: JwtVerifier, signer: Signer):
    principal = await verifier.verify(signer.sign())
    assert principal.subject == "jwt:user-1" and principal.scopes == frozenset()


async def test_an_audience_list_including_ours_is_accepted(verifier: JwtVerifier):
    assert (await verifier.verify(RSA_KEY.sign(aud=["crm", AUDIENCE]))).via == "jwt"


async def test_a_custom_subject_claim_names_the_caller(jwks_file: Path):
    settings = JwtSettings(
        issuer=ISSUER, audience=AUDIENCE, jwks_file=jwks_file, subject_claim="oid"
    )
    assert (await JwtVerifier(settings).verify(RSA_KEY.sign(oid="0a1b"))).subject == "jwt:0a1b"


def _now() -> int:
    """Read when a token is made, not when the cases are collected (a long run in between
    would age them)."""
    return int(time.time())


def _refusals() -> list[Any]:
    ps512 = Signer("rsa-1", RSA_KEY.private, "PS512")  # the right key, an algorithm not configured
    es_on_rsa = replace(EC_KEY, kid="rsa-1")  # names the RSA key, signed ES256
    cases: list[tuple[str, Any, str, str]] = [
        (
            "wrong issuer",
            lambda: RSA_KEY.sign(iss="https://evil.example/"),
            "invalid_token",
            "issuer",
        ),
        ("wrong audience", lambda: RSA_KEY.sign(aud="someone-else"), "invalid_token", "audience"),
        ("expired", lambda: RSA_KEY.sign(exp=_now() - 120), "expired_credentials", "expired"),
        ("not yet valid", lambda: RSA_KEY.sign(nbf=_now() + 300), "invalid_token", "not valid yet"),
        (
            "issued in the future",
            lambda: RSA_KEY.sign(iat=_now() + 300),
            "invalid_token",
            "not valid yet",
        ),
        ("no exp", lambda: RSA_KEY.sign(exp=None), "invalid_token", "exp claim"),
        ("no sub", lambda: RSA_KEY.sign(sub=None), "invalid_token", "sub claim"),
        ("no aud", lambda: RSA_KEY.sign(aud=None), "invalid_token", "aud claim"),
        ("no iss", lambda: RSA_KEY.sign(iss=None), "invalid_token", "iss claim"),
        ("sub not a string", lambda: RSA_KEY.sign(sub=42), "invalid_token", "sub"),
        (
            "scope not a string",
            lambda: RSA_KEY.sign(scope={"a": 1}),
            "invalid_token",
            "scope claim",
        ),
        (
            "unknown kid",
            lambda: RSA_KEY.sign(header={"kid": "rotated-away"}),
            "invalid_token",
            "kid",
        ),
        (
            "no kid, several keys",
            lambda: RSA_KEY.sign(header={"kid": None}),
            "invalid_token",
            "kid",
        ),
        ("signed by a stranger", lambda: STRANGER.sign(), "invalid_token", "signature"),
        (
            "alg none",
            lambda: hand_made({"alg": "none", "kid": "rsa-1"}, good_claims(), None),
            "invalid_token",
            "'none'",
        ),
        (
            "HS256 with the public key as secret",
            lambda: hand_made(
                {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}, good_claims(), RSA_KEY.public_pem
            ),
            "invalid_token",
            "'HS256'",
        ),
        ("algorithm not configured", lambda: ps512.sign(), "invalid_token", "not accepted"),
        ("EC algorithm on the RSA key", lambda: es_on_rsa.sign(), "invalid_token", "does not fit"),
        ("tampered payload", lambda: _tampered(RSA_KEY.sign()), "invalid_token", "signature"),
        (
            "header not JSON",
            lambda: f"{_b64(b'nope')}.{_b64(b'{}')}.{_b64(b'sig')}",
            "invalid_token",
            "header",
        ),
        (
            "payload not JSON",
            lambda: f"{_b64(json.dumps({'alg': 'RS256', 'kid': 'rsa-1'}).encode())}.bm9wZQ.c2ln",
            "invalid_token",
            "signature",
        ),
        ("garbage", lambda: "not a token at all", "invalid_token", "not a JWT"),
        (
            "two segments",
            lambda: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0",
            "invalid_token",
            "not a JWT",
        ),
        ("huge", lambda: "a" * 20_000 + ".b.c", "invalid_token", "not a JWT"),
    ]
    return [pytest.param(make, reason, words, id=name) for name, make, reason, words in cases]


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "*"
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


@pytest.mark.parametrize(("make", "reason", "words"), _refusals())
async def test_a_bad_token_is_refused_with_a_reason_and_never_echoed(
    verifier: JwtVerifier, make: Any, reason: str, words: str
):
    token = make()
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(token)
    assert refused.value.reason == reason
    assert words in refused.value.message
    for part in token.split("."):
        assert len(part) < 8 or part not in refused.value.message


async def test_a_single_key_set_accepts_a_token_without_kid(tmp_path: Path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"keys": [{k: v for k, v in RSA_KEY.jwk.items() if k != "kid"}]}))
    verifier = JwtVerifier(JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks_file=path))
    assert (await verifier.verify(RSA_KEY.sign(header={"kid": None}))).subject == "jwt:user-1"


async def test_a_shared_secret_in_the_jwks_is_never_used(tmp_path: Path):
    path = tmp_path / "oct.json"
    secret = _b64(b"s" * 32)
    path.write_text(
        json.dumps({"keys": [{"kty": "oct", "k": secret, "kid": "rsa-1", "alg": "HS256"}]})
    )
    verifier = JwtVerifier(JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks_file=path))
    with pytest.raises(Unauthenticated, match="keys are unavailable"):
        await verifier.verify(RSA_KEY.sign())


async def test_the_jwks_file_is_reread_when_it_changes(jwks_file: Path, verifier: JwtVerifier):
    rotated = Signer(
        "rsa-2", rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"
    )
    await verifier.verify(RSA_KEY.sign())
    with pytest.raises(Unauthenticated, match="kid"):
        await verifier.verify(rotated.sign())
    jwks_file.write_text(json.dumps(jwks(rotated)))
    assert (await verifier.verify(rotated.sign())).subject == "jwt:user-1"
    with pytest.raises(Unauthenticated, match="kid"):
        await verifier.verify(RSA_KEY.sign())


async def test_an_unreadable_jwks_file_refuses_tokens(tmp_path: Path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    verifier = JwtVerifier(JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks_file=path))
    with pytest.raises(Unauthenticated, match="unavailable"):
        await verifier.verify(RSA_KEY.sign())
    path.unlink()
    with pytest.raises(Unauthenticated, match="unavailable"):
        await verifier.verify(RSA_KEY.sign())


@dataclass
class IdentityProvider:
    """A JWKS endpoint speaking plain HTTP+JSON, counting the fetches it answers."""

    document: dict[str, Any]
    fetches: int = 0
    delay_s: float = 0.0
    status: int = 200
    requests: list[str] = field(default_factory=list)

    async def keys(self, request: Request) -> Response:
        self.fetches += 1
        await asyncio.sleep(self.delay_s)
        if self.status != 200:
            return Response("unavailable", status_code=self.status)
        return JSONResponse(self.document)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/.well-known/jwks.json", self.keys)])


@pytest.fixture
async def idp() -> AsyncIterator[tuple[IdentityProvider, LocalServer]]:
    provider = IdentityProvider(jwks(RSA_KEY))
    async with serving(provider.app()) as server:
        yield provider, server


def url_verifier(server: LocalServer, **settings: Any) -> JwtVerifier:
    return JwtVerifier(
        JwtSettings(
            issuer=ISSUER,
            audience=AUDIENCE,
            jwks_url=f"{server.url}/.well-known/jwks.json",
            **settings,
        )
    )


async def test_the_jwks_is_fetched_once_and_cached(idp: tuple[IdentityProvider, LocalServer]):
    provider, server = idp
    verifier = url_verifier(server)
    for _ in range(3):
        assert (await verifier.verify(RSA_KEY.sign(scope="leads:read"))).scopes == {"leads:read"}
    assert provider.fetches == 1


async def test_a_rotated_key_is_fetched_on_its_first_token_and_made_up_kids_cost_one_fetch(
    idp: tuple[IdentityProvider, LocalServer],
):
    provider, server = idp
    verifier = url_verifier(server)
    await verifier.verify(RSA_KEY.sign())
    provider.document = jwks(RSA_KEY, EC_KEY)
    assert (await verifier.verify(EC_KEY.sign())).subject == "jwt:user-1"
    assert provider.fetches == 2
    for kid in ("made-up-1", "made-up-2", "made-up-3"):
        with pytest.raises(Unauthenticated, match="kid"):
            await verifier.verify(RSA_KEY.sign(header={"kid": kid}))
    assert provider.fetches == 2  # the forced refetch just happened: within the cooldown


async def test_an_unreachable_or_failing_provider_refuses_tokens_with_a_401_reason(
    idp: tuple[IdentityProvider, LocalServer],
):
    provider, server = idp
    provider.status = 503
    with pytest.raises(Unauthenticated, match="unavailable") as refused:
        await url_verifier(server).verify(RSA_KEY.sign())
    assert refused.value.reason == "invalid_token"
    provider.status = 200
    await server.stop()
    with pytest.raises(Unauthenticated, match="unavailable"):
        await url_verifier(server).verify(RSA_KEY.sign())


async def test_a_slow_provider_is_given_up_on_without_blocking_the_event_loop(
    idp: tuple[IdentityProvider, LocalServer],
):
    provider, server = idp
    provider.delay_s = 1.0
    verifier = url_verifier(server, jwks_timeout_s=0.3)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    with pytest.raises(Unauthenticated, match="unavailable|in time"):
        await verifier.verify(RSA_KEY.sign())
    ticker.cancel()
    assert time.monotonic() - started < 0.9
    assert ticks >= 10  # the loop kept running while the fetch waited


async def test_the_jwks_is_fetched_again_when_its_lifespan_ends_and_kept_if_that_fails(
    idp: tuple[IdentityProvider, LocalServer],
):
    provider, server = idp
    verifier = url_verifier(server, jwks_cache_s=0.2)
    await verifier.verify(RSA_KEY.sign())
    await asyncio.sleep(0.3)
    await verifier.verify(RSA_KEY.sign())
    assert provider.fetches == 2
    provider.status = 503  # the identity provider has an outage
    await asyncio.sleep(0.3)
    for _ in range(3):  # its last keys are still good; it is asked again after the cooldown
        assert (await verifier.verify(RSA_KEY.sign())).subject == "jwt:user-1"
    assert provider.fetches == 3


async def test_concurrent_tokens_on_a_cold_cache_make_one_fetch(
    idp: tuple[IdentityProvider, LocalServer],
):
    provider, server = idp
    provider.delay_s = 0.2
    verifier = url_verifier(server)
    principals = await asyncio.gather(*(verifier.verify(RSA_KEY.sign()) for _ in range(10)))
    assert {p.subject for p in principals} == {"jwt:user-1"}
    assert provider.fetches == 1


async def test_a_jwks_file_that_turns_unreadable_leaves_its_last_keys_in_use(
    jwks_file: Path, verifier: JwtVerifier, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(jwks_module, "FILE_CHECK_S", 0.0)
    await verifier.verify(RSA_KEY.sign())
    jwks_file.write_text('{"keys": [')  # half-written
    assert (await verifier.verify(RSA_KEY.sign())).subject == "jwt:user-1"
    jwks_file.write_text(json.dumps(jwks(EC_KEY)))  # written out: the RSA key was removed
    with pytest.raises(Unauthenticated, match="kid"):
        await verifier.verify(RSA_KEY.sign())


OCT_KEY = PyJWK({"kty": "oct", "k": _b64(b"s" * 32), "kid": "oct-1"})


@pytest.mark.parametrize(
    ("key", "alg", "fits"),
    [
        (PyJWK(RSA_KEY.jwk), "RS256", True),
        (PyJWK(RSA_KEY.jwk), "PS512", True),
        (PyJWK(RSA_KEY.jwk), "ES256", False),
        (PyJWK(RSA_KEY.jwk), "HS256", False),
        (PyJWK(RSA_KEY.jwk), "EdDSA", False),
        (PyJWK(EC_KEY.jwk), "ES256", True),
        (PyJWK(EC_KEY.jwk), "ES384", False),  # a P-256 key signs ES256 only
        (PyJWK(EC_KEY.jwk), "RS256", False),
        (PyJWK(ED_KEY.jwk), "EdDSA", True),
        (PyJWK(ED_KEY.jwk), "ES256", False),
        (OCT_KEY, "HS256", False),  # a shared secret verifies nothing, even if one got here
        (OCT_KEY, "RS256", False),
    ],
)
def test_a_key_verifies_only_the_algorithms_of_its_kind(key: PyJWK, alg: str, fits: bool):
    assert key_fits(key, alg) is fits


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"algorithms": ("HS256",)}, "asymmetric"),
        ({"algorithms": ("RS256", "none")}, "asymmetric"),
        ({"algorithms": ()}, "asymmetric"),
        ({"jwks_url": "https://id.example.com/jwks"}, "exactly one"),
        ({"jwks_file": None}, "exactly one"),
        ({"issuer": ""}, "issuer"),
        ({"jwks_file": None, "jwks_url": "file:///etc/passwd"}, "http"),
    ],
)
def test_settings_refuse_secrets_none_and_ambiguous_key_sources(
    settings: dict[str, Any], problem: str
):
    base: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "jwks_file": Path("jwks.json")}
    with pytest.raises(ValueError, match=problem):
        JwtSettings(**{**base, **settings})


@pytest.mark.parametrize(
    ("credential", "is_jwt"),
    [
        (RSA_KEY.sign(), True),
        ("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", True),
        ("lf_3f9a1c2b_Zx8Q-2kLm0pQrStUvWxYz0123456789abcdEF", False),
        ("a.b", False),
        ("a.b.c.d", False),
        ("a b.c.d", False),
        ("", False),
    ],
)
def test_only_three_base64url_segments_look_like_a_jwt(credential: str, is_jwt: bool):
    assert looks_like_jwt(credential) is is_jwt
