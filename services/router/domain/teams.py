"""Per-team roll-ups of the rep figures, pure: a team's counters are its members' counters
summed, and its rates are worked out from those sums (never an average of the reps' rates,
which would weigh a rep with two leads like one with two hundred)."""

from __future__ import annotations

from collections.abc import Mapping

from services.router.domain.model import Team


def team_totals(team: Team, totals: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Every counter summed over the team's current members; a member with no figures adds
    nothing. Figures follow the rep: a rep who moved team brings their history along."""
    summed: dict[str, float] = {}
    for rep_id in team.members:
        for counter, value in totals.get(rep_id, {}).items():
            summed[counter] = summed.get(counter, 0.0) + value
    return summed
