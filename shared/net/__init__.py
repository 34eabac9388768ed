"""Network mechanisms: which addresses outbound calls may reach (SSRF guard)."""
