"""What every service's HTTP layer answers is what its OpenAPI document says: a 405 names
every method of the path, and the shared refusals are documented on the operations they
apply to, in the one error shape."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import APIRouter, FastAPI, Query
from pydantic import BaseModel

from shared.http import install_error_handlers
from shared.openapi import document_refusals


class Thing(BaseModel):
    name: str


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    things = APIRouter(prefix="/v1")

    @things.get("/things/{thing_id:int}")
    async def read(thing_id: int) -> dict[str, int]:
        return {"thing_id": thing_id}

    @things.delete("/things/{thing_id:int}")
    async def delete(thing_id: int) -> dict[str, int]:
        return {"thing_id": thing_id}

    @things.post("/things/{thing_id}:retry")
    async def retry(thing_id: int) -> dict[str, int]:
        return {"thing_id": thing_id}

    @things.post("/things", responses={404: {"description": "No such shelf"}})
    async def create(body: Thing, shelf: Annotated[str | None, Query()] = None) -> Thing:
        return body

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(things)
    document_refusals(app)
    return app


async def _call(method: str, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path)


async def test_a_405_lists_every_method_the_path_answers_not_only_the_first_routes() -> None:
    refused = await _call("PUT", "/v1/things/7")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, DELETE"
    assert refused.json() == {
        "error": "method_not_allowed", "message": "Method Not Allowed", "problems": []
    }  # fmt: skip


async def test_a_405_on_a_custom_method_names_only_its_own_method() -> None:
    refused = await _call("DELETE", "/v1/things/7:retry")
    assert (refused.status_code, refused.headers["allow"]) == (405, "POST")
    assert (await _call("TRACE", "/v1/things")).headers["allow"] == "POST"


def test_shared_refusals_are_documented_where_they_apply_in_the_error_shape() -> None:
    document = _app().openapi()
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    create = document["paths"]["/v1/things"]["post"]["responses"]
    assert sorted(create) == ["200", "400", "404", "413", "422", "503"]
    assert all(create[s]["content"] == error for s in ("400", "404", "413", "422", "503"))
    assert create["404"]["description"] == "No such shelf"  # the route's own words stay
    assert create["503"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    read = document["paths"]["/v1/things/{thing_id}"]["get"]["responses"]
    assert sorted(read) == ["200", "422", "503"]  # no body: no 400 or 413
    assert sorted(document["paths"]["/healthz"]["get"]["responses"]) == ["200"]
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_an_optional_parameter_is_documented_as_absent_not_as_null() -> None:
    create = _app().openapi()["paths"]["/v1/things"]["post"]
    (shelf,) = create["parameters"]
    assert shelf["schema"]["type"] == "string" and "anyOf" not in shelf["schema"]
