"""Request keys: explicit keys, automatic double-submit keys, and refusals."""

from __future__ import annotations

import pytest

from services.capture.idempotency import check_same_request, request_key
from shared.http import ApiError


def test_without_a_header_the_key_is_the_canonical_body() -> None:
    one = request_key("/v1/leads", {"a": 1, "b": [1, 2]}, None, "key:a")
    two = request_key("/v1/leads", {"b": [1, 2], "a": 1}, None, "key:a")
    assert one == two and not one.explicit
    assert request_key("/v1/leads:batch", {"a": 1, "b": [1, 2]}, None, "key:a").key != one.key


def test_an_explicit_key_is_kept_longer_and_checked_against_its_body() -> None:
    key = request_key("/v1/leads", {"a": 1}, "k-1", "key:a")
    assert key.explicit and key.key == "key:key:a:k-1"
    other = request_key("/v1/leads", {"a": 2}, "k-1", "key:a")
    with pytest.raises(ApiError) as refused:
        check_same_request(other, key.fingerprint)
    assert refused.value.error == "idempotency_key_reused"


@pytest.mark.parametrize("bad", ["", "has space", "x" * 256, "tab\tkey", "é"])
def test_a_malformed_key_is_refused_naming_the_header(bad: str) -> None:
    with pytest.raises(ApiError) as refused:
        request_key("/v1/leads", {}, bad, "key:a")
    assert refused.value.status == 422
    assert refused.value.problems[0]["field"] == "header:Idempotency-Key"


def test_keys_are_per_client_so_one_never_replays_anothers_answer() -> None:
    mine = request_key("/v1/leads", {"a": 1}, "k-1", "key:a")
    theirs = request_key("/v1/leads", {"a": 1}, "k-1", "key:b")
    assert mine.key != theirs.key
    assert (
        request_key("/v1/leads", {}, None, "key:a").key
        != request_key("/v1/leads", {}, None, "key:b").key
    )
