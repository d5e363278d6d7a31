"""Statistical secrecy of published figures (pure, no Django).

A public figure is an aggregate over contributors (establishments). It is suppressed when it
could reveal one of them, as official statistics do:

* fewer than ``min_group`` contributors (frequency rule), or
* the largest contributor makes more than ``top1_share`` of the total, or
* the two largest together make more than ``top2_share`` of the total (dominance rules).

Every public surface (anonymous choropleth, public home, public exports) decides through
:func:`is_publishable` / :func:`public_value`, so that the rule lives in one place.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

MIN_GROUP = 5
TOP1_SHARE = 0.85
TOP2_SHARE = 0.90


def is_publishable(
    contributions: Iterable[float],
    *,
    min_group: int = MIN_GROUP,
    top1_share: float = TOP1_SHARE,
    top2_share: float = TOP2_SHARE,
) -> bool:
    """Whether a total of ``contributions`` (one value per contributor, >= 0) may be published.

    A count (each contributor weighs 1) is subject to the frequency rule only in effect, since
    with at least 5 contributors none exceeds 20 %."""
    values = np.asarray(list(contributions), dtype=float)
    if values.size < min_group:
        return False
    values = np.abs(values)
    total = float(values.sum())
    if total <= 0.0:
        return True  # nothing to reveal: every contributor is at zero
    top = np.sort(values)[::-1]
    if top[0] > top1_share * total:
        return False
    return not top[:2].sum() > top2_share * total


def public_value(contributions: Iterable[float], value: float | None = None, **rules):
    """The published figure: ``value`` (default: the sum of the contributions) when the group
    passes :func:`is_publishable`, ``None`` (secret) otherwise."""
    values = list(contributions)
    if not is_publishable(values, **rules):
        return None
    return float(sum(values)) if value is None else value


def public_count(count: int, min_group: int = MIN_GROUP) -> int | None:
    """A count of contributors (each weighs 1): published from ``min_group`` on."""
    return count if is_publishable(np.ones(count), min_group=min_group) else None
