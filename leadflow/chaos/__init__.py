"""``leadflow chaos``: the permanent fault suite (kill everything in turn, lose nothing)."""
