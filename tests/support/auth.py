"""The one place tests get a credential the services accept, for tests that exercise the
APIs as an authorised client would (the fuzzers): what to give the service processes and
what to send."""

from __future__ import annotations

FUZZ_TOKEN = "fuzz-admin-token-0123456789abcdef"


def fuzz_credentials() -> tuple[dict[str, str], dict[str, str]]:
    """(environment for every service process, headers for every request): today the
    router's admin token, which its admin API's writes need."""
    env = {"LEADFLOW_ADMIN_TOKEN": FUZZ_TOKEN}
    headers = {"Authorization": f"Bearer {FUZZ_TOKEN}"}
    return env, headers
