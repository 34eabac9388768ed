"""Request keys: explicit keys, automatic double-submit keys, and refusals."""

from __future__ import annotations

import pytest

from services.capture.idempotency import check_same_request, request_key
from shared.http import ApiError


def test_without_a_header_the_key_is_the_canonical_body() -> None:
    one = request_key("/v1/leads", {"a": 1, "b": [1, 2]}, None)
    two = request_key("/v1/leads", {"b": [1, 2], "a": 1}, None)
    assert one == two and not one.explicit
    assert request_key("/v1/leads:batch", {"a": 1, "b": [1, 2]}, None).key != one.key


def test_an_explicit_key_is_kept_longer_and_checked_against_its_body() -> None:
    key = request_key("/v1/leads", {"a": 1}, "k-1")
    assert key.explicit and key.key == "key:k-1"
    other = request_key("/v1/leads", {"a": 2}, "k-1")
    with pytest.raises(ApiError) as refused:
        check_same_request(other, key.fingerprint)
    assert refused.value.error == "idempotency_key_reused"


@pytest.mark.parametrize("bad", ["", "has space", "x" * 256, "tab\tkey", "é"])
def test_a_malformed_key_is_refused_naming_the_header(bad: str) -> None:
    with pytest.raises(ApiError) as refused:
        request_key("/v1/leads", {}, bad)
    assert refused.value.status == 422
    assert refused.value.problems[0]["field"] == "header:Idempotency-Key"
