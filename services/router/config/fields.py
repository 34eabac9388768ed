"""Field types and error helpers shared by the routing config's models: every problem is
a pydantic error whose text is exactly the message, reported at its key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

Report = Callable[[tuple[str | int, ...], str, Any], None]


def lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


Lowered = Annotated[str, BeforeValidator(lower), Field(min_length=1)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def error(message: str) -> PydanticCustomError:
    """An error whose text is exactly ``message`` (pydantic adds no 'Value error,' prefix)."""
    return PydanticCustomError("routing_config", "{message}", {"message": message})


def fail(loc: tuple[str | int, ...], message: str, value: Any) -> None:
    detail = InitErrorDetails(type=error(message), loc=loc, input=value)
    raise ValidationError.from_exception_data("routing", [detail])
