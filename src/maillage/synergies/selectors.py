"""Reads of the synergies app (always through accounts.policy)."""

from __future__ import annotations

from maillage.synergies.models import DetectionRun


def run_summary(run: DetectionRun) -> list[tuple[str, str]]:
    return [
        (kind, ", ".join(f"{n} {what}" for what, n in counts.items()))
        for kind, counts in (run.counts or {}).items()
    ]


def suggestions_for(user, kind: str | None = None, status: str | None = None):
    """The suggestions an advisor may work on, best first, with what the list shows."""
    from maillage.accounts import policy

    qs = policy.visible_suggestions(user).filter(is_current=True)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related(
        "resource_class",
        "offer_flow__establishment__commune",
        "need_flow__establishment__commune",
        "prospect__commune",
    ).order_by("-score", "pk")


def rows_for_page(user, suggestions) -> list[dict]:
    """Suggestions of one page with their French explanation; names of establishments the user
    may not see are replaced by an anonymous description (one query for the whole page)."""
    from maillage.accounts import policy
    from maillage.synergies.explain import explain

    ids = set()
    for s in suggestions:
        for flow in (s.offer_flow, s.need_flow):
            if flow is not None:
                ids.add(flow.establishment_id)
        if s.prospect_id:
            ids.add(s.prospect_id)
    visible = set(
        policy.visible_establishments(user).filter(pk__in=ids).values_list("pk", flat=True)
    )

    def who(establishment):
        if establishment is None:
            return None
        if establishment.pk in visible:
            return {
                "pk": establishment.pk,
                "name": establishment.name,
                "place": establishment.commune.name,
            }
        return {"pk": None, "name": None, "place": establishment.commune.name}

    return [
        {
            "s": s,
            "offer": who(s.offer_flow.establishment) if s.offer_flow else None,
            "need": who(s.need_flow.establishment) if s.need_flow else None,
            "prospect": who(s.prospect),
            "lines": explain(s.kind, s.explanation),
        }
        for s in suggestions
    ]
