"""The synergy pipeline: allowed status transitions, declared in one place."""

from __future__ import annotations

from maillage.synergies.models import Suggestion

S = Suggestion.Status

TRANSITIONS: dict[str, frozenset[str]] = {
    S.DETECTED: frozenset({S.PROPOSED, S.ABANDONED}),
    S.PROPOSED: frozenset({S.DISCUSSION, S.ABANDONED}),
    S.DISCUSSION: frozenset({S.IMPLEMENTED, S.ABANDONED}),
    S.IMPLEMENTED: frozenset({S.ABANDONED}),
    S.ABANDONED: frozenset({S.DETECTED}),
}


def allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())
