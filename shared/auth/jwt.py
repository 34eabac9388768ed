"""Bearer JWTs from the organisation's identity provider, verified with PyJWT (no crypto of
our own) against the provider's JWKS (see docs/security.md).

A token is accepted only when all of these hold: its ``alg`` is one of the configured
asymmetric algorithms (``none`` and the HMAC family can never be configured, so the classic
"sign HS256 with the public key as secret" confusion has nothing to confuse) and fits the
kind of key its ``kid`` names; the signature verifies; ``exp``, ``iss``, ``aud`` and the
subject claim are present; ``iss`` and ``aud`` are the configured ones; ``exp``/``nbf``/
``iat`` hold within ``leeway_s``. Keys come only from the configured JWKS: keys or key URLs
a token's header offers (``jwk``, ``jku``, ``x5u``, ``x5c``) are never used. Every refusal
is :class:`Unauthenticated` with a message that names what is wrong and never repeats the
token.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt import PyJWK
from jwt.exceptions import InvalidSubjectError

from shared.auth.jwks import FileKeys, KeySource, KeysUnavailable, UrlKeys
from shared.auth.principal import Principal, Unauthenticated

log = logging.getLogger(__name__)

RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
ASYMMETRIC_ALGORITHMS = RSA_ALGORITHMS | frozenset(EC_CURVES) | {"EdDSA"}
MAX_TOKEN_CHARS = 16_384  # far above any IdP's token; a bigger header is refused unparsed
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class JwtSettings:
    """Which identity provider's tokens to accept, and how to read their scopes."""

    issuer: str
    audience: str
    jwks_url: str | None = (
        None  # fetched with PyJWT's PyJWKClient (cached, refreshed on unknown kid)
    )
    jwks_file: Path | None = None  # a JWKS JSON file (reloaded when it changes)
    scopes_claim: str = "scope"  # space-separated string ("scope") or list ("scp", "roles"...)
    subject_claim: str = "sub"
    algorithms: tuple[str, ...] = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
    leeway_s: float = 30.0
    jwks_timeout_s: float = 5.0  # one JWKS fetch, connect to last byte
    jwks_cache_s: float = 300.0  # how long a fetched JWKS is used before it is fetched again

    def __post_init__(self) -> None:
        if not self.issuer or not self.audience:
            raise ValueError("issuer and audience are required")
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ValueError("give exactly one of jwks_url and jwks_file")
        if self.jwks_url is not None and urlparse(self.jwks_url).scheme not in ("http", "https"):
            raise ValueError("jwks_url must be an http(s) URL")
        refused = [alg for alg in self.algorithms if alg not in ASYMMETRIC_ALGORITHMS]
        if refused or not self.algorithms:
            raise ValueError(
                f"algorithms {refused or '[]'} refused: only asymmetric algorithms "
                f"({', '.join(sorted(ASYMMETRIC_ALGORITHMS))}); no shared secrets, no 'none'"
            )
        if self.leeway_s < 0 or self.jwks_timeout_s <= 0 or self.jwks_cache_s <= 0:
            raise ValueError("leeway_s must be >= 0, jwks_timeout_s and jwks_cache_s > 0")


def looks_like_jwt(token: str) -> bool:
    """Three base64url segments joined by dots (the last may be empty, so an unsigned token
    is recognised, and refused, as a JWT); an API key is never parsed as one."""
    return len(token) <= MAX_TOKEN_CHARS and _JWT_SHAPE.fullmatch(token) is not None


def key_fits(key: PyJWK, alg: str) -> bool:
    """An RSA key verifies only RS*/PS*, an EC key only the ES* of its curve, an Ed25519/
    Ed448 key only EdDSA: the header's ``alg`` cannot make a key be read as something else."""
    public = key.key
    if isinstance(public, RSAPublicKey):
        return alg in RSA_ALGORITHMS
    if isinstance(public, EllipticCurvePublicKey):
        return EC_CURVES.get(alg) == public.curve.name
    if isinstance(public, Ed25519PublicKey | Ed448PublicKey):
        return alg == "EdDSA"
    return False  # private or symmetric key material is never used to verify


def scopes_from(value: Any) -> frozenset[str]:
    """A space-separated string (OAuth's ``scope``) or a list of strings (``scp``, ``roles``);
    a token without the claim has no scopes."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(value)
    raise ValueError("neither a space-separated string nor a list of strings")


class JwtVerifier:
    """Verifies bearer JWTs: :meth:`verify` answers the :class:`Principal` or raises
    :class:`Unauthenticated`; the JWKS is read off the event loop, within a timeout."""

    def __init__(self, settings: JwtSettings) -> None:
        self._settings = settings
        self._keys: KeySource = (
            FileKeys(settings.jwks_file)
            if settings.jwks_file is not None
            else UrlKeys(str(settings.jwks_url), settings.jwks_timeout_s, settings.jwks_cache_s)
        )
        self._require = sorted({"exp", "iss", "aud", "sub", settings.subject_claim})
        self._looking_up = asyncio.Lock()

    async def verify(self, token: str) -> Principal:
        if not looks_like_jwt(token):
            raise _invalid("the bearer credential is not a JWT (three base64url segments)")
        header = _header(token)
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self._settings.algorithms:
            shown = (
                f"{alg!r} "
                if alg in ASYMMETRIC_ALGORITHMS | {"none", "HS256", "HS384", "HS512"}
                else ""
            )
            raise _invalid(
                f"the token's algorithm {shown}is not accepted "
                f"(accepted: {', '.join(self._settings.algorithms)})"
            )
        if kid is not None and not isinstance(kid, str):
            raise _invalid("the token's kid header is not a string")
        key = await self._key(kid)
        if not key_fits(key, alg):
            raise _invalid(f"the token's algorithm {alg} does not fit the key its kid names")
        claims = self._decode(token, key, alg)
        subject = claims.get(self._settings.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise _invalid(f"the token's {self._settings.subject_claim} claim is not a string")
        try:
            scopes = scopes_from(claims.get(self._settings.scopes_claim))
        except ValueError as error:
            raise _invalid(f"the token's {self._settings.scopes_claim} claim is {error}") from None
        return Principal(subject=f"jwt:{subject}", scopes=scopes, via="jwt")

    async def _key(self, kid: str | None) -> PyJWK:
        key = self._keys.cached(kid)
        if key is not None:
            return key
        try:
            # One lookup in a worker thread at a time: a hung identity provider holds one
            # thread, not one per request.
            async with asyncio.timeout(self._settings.jwks_timeout_s), self._looking_up:
                key = await asyncio.to_thread(self._keys.key_for, kid)
        except TimeoutError:
            log.warning("JWKS lookup took over %ss", self._settings.jwks_timeout_s)
            raise _invalid("the identity provider's keys could not be fetched in time") from None
        except KeysUnavailable as error:
            log.warning("JWKS unavailable: %s", error)
            raise _invalid("the identity provider's keys are unavailable") from None
        if key is None:
            named = "names no key" if kid is None else "names a key the identity provider lacks"
            raise _invalid(f"the token's kid {named}")
        return key

    def _decode(self, token: str, key: PyJWK, alg: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                leeway=self._settings.leeway_s,
                options={"require": self._require},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("expired_credentials", "the token has expired (exp)") from None
        except jwt.ImmatureSignatureError:
            raise _invalid("the token is not valid yet (nbf or iat in the future)") from None
        except jwt.MissingRequiredClaimError as error:
            raise _invalid(f"the token lacks the {error.claim} claim") from None
        except jwt.InvalidIssuerError:
            raise _invalid("the token's issuer (iss) is not the configured one") from None
        except jwt.InvalidAudienceError:
            raise _invalid("the token's audience (aud) is not this service") from None
        except InvalidSubjectError:
            raise _invalid("the token's sub claim is not a string") from None
        except jwt.InvalidSignatureError:
            raise _invalid("the token's signature does not verify") from None
        except jwt.DecodeError:
            raise _invalid("the token cannot be decoded") from None
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise _invalid(f"the token does not verify ({type(error).__name__})") from None
        return claims


def _header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError, TypeError):
        raise _invalid("the token's header is not base64url-encoded JSON") from None


def _invalid(message: str) -> Unauthenticated:
    return Unauthenticated("invalid_token", message)
