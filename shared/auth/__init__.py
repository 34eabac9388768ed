"""Who is calling, and may they? API keys and JWTs, scopes, rate limits and the audit trail
every service shares (see docs/security.md)."""
