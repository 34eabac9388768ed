"""A service configured with an identity provider takes its JWTs beside API keys: the
token's scopes open exactly their routes and the audit trail names the token's subject."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.capture.config import Settings
from services.capture.main import create_app
from shared.config import ConfigError
from tests.support.app import running_app
from tests.support.kafka import Bus
from tests.unit.shared.test_jwt import AUDIENCE, ISSUER, RSA_KEY, STRANGER, jwks

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def test_a_jwt_opens_the_routes_of_its_scopes(
    database_url: str, bus: Bus, tmp_path: Path
) -> None:
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks(RSA_KEY)))
    settings = Settings(
        database_url=database_url, **bus.settings, jwt_issuer=ISSUER, jwt_audience=AUDIENCE,
        jwt_jwks_file=keys,
    )  # fmt: skip
    async with running_app(create_app(settings)) as client:
        writer = {"Authorization": f"Bearer {RSA_KEY.sign(sub='crm-bot', scope='leads:write')}"}
        posted = await client.post("/v1/leads", json={"email": "jwt@example.com"}, headers=writer)
        assert posted.status_code == 202, posted.text
        lead = posted.json()["lead_id"]
        assert (await client.get(f"/v1/leads/{lead}", headers=writer)).status_code == 403
        forged = {"Authorization": f"Bearer {STRANGER.sign(scope='leads:read')}"}
        refused = await client.get(f"/v1/leads/{lead}", headers=forged)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
        expired = {"Authorization": f"Bearer {RSA_KEY.sign(scope='leads:read', exp=1)}"}
        assert (await client.get(f"/v1/leads/{lead}", headers=expired)).status_code == 401
        trail = (await client.get("/v1/audit", params={"target": lead})).json()["entries"]
        assert [(e["actor"], e["action"]) for e in trail] == [("jwt:crm-bot", "lead.submitted")]


def test_a_jwt_setting_that_cannot_work_stops_the_start(database_url: str) -> None:
    settings = Settings(database_url=database_url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
    with pytest.raises(ConfigError, match="LEADFLOW_JWT_"):
        create_app(settings)
