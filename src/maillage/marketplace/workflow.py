"""The need lifecycle: allowed status transitions, declared in one place.

draft → published → closed (awarded / not awarded) → archived; a draft may also be archived.
"""

from __future__ import annotations

from maillage.marketplace.models import Need

S = Need.Status

TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.PUBLISHED, S.ARCHIVED}),
    S.PUBLISHED: frozenset({S.AWARDED, S.NOT_AWARDED}),
    S.AWARDED: frozenset({S.ARCHIVED}),
    S.NOT_AWARDED: frozenset({S.ARCHIVED}),
    S.ARCHIVED: frozenset(),
}


def allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())
