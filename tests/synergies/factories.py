"""Factories for the synergies app: suggestions and their history, the sides of an
introduction, detection runs, and ``scrap_outcomes``, a chamber's past suggestions with their
outcome (what the feedback ranking counts)."""

from __future__ import annotations

import factory

from maillage.synergies.models import DetectionRun, Introduction, Suggestion, SuggestionEvent
from tests.factories import ChamberFactory, EstablishmentFactory, FlowFactory

STEEL_SCRAP = "17 04 05"


class SuggestionFactory(factory.django.DjangoModelFactory):
    """A current, detected substitution between two flows of one resource class (by default an
    offer and a need of ferrous scrap at two new establishments), for the offer's chamber."""

    class Meta:
        model = Suggestion

    key = factory.Sequence(lambda n: f"T:{n}")
    kind = Suggestion.Kind.SUBSTITUTION
    chamber = factory.SubFactory(ChamberFactory)
    offer_flow = factory.SubFactory(FlowFactory, resource_class="ferrous_metal_scrap")
    need_flow = factory.SubFactory(
        FlowFactory, direction="need", resource_class="ferrous_metal_scrap"
    )
    # A mutualisation or a prospect with no flow on a side: pass ``resource_class``.
    resource_class = factory.LazyAttribute(lambda o: (o.offer_flow or o.need_flow).resource_class)
    score = 0.5


class SuggestionEventFactory(factory.django.DjangoModelFactory):
    """A line of a suggestion's history, written as it stands (``services.change_status`` checks
    the transition)."""

    class Meta:
        model = SuggestionEvent

    suggestion = factory.SubFactory(SuggestionFactory)
    from_status = Suggestion.Status.DETECTED
    to_status = Suggestion.Status.PROPOSED


class IntroductionFactory(factory.django.DjangoModelFactory):
    """One side of an introduction, proposed and not yet answered."""

    class Meta:
        model = Introduction

    suggestion = factory.SubFactory(SuggestionFactory)
    establishment = factory.SubFactory(EstablishmentFactory)


class DetectionRunFactory(factory.django.DjangoModelFactory):
    """A finished detection of a chamber; ``pending=True`` for one just asked for (no worker has
    taken it yet: the model's defaults)."""

    class Meta:
        model = DetectionRun

    class Params:
        pending = factory.Trait(state=DetectionRun.State.PENDING, progress=0)

    chamber = factory.SubFactory(ChamberFactory)
    state = DetectionRun.State.DONE
    progress = 100


def scrap_outcomes(
    chamber,
    pairs,
    status,
    *,
    receiver="Réseau de chaleur",
    receiver_naf="35.30Z",
    commune="78646",
    **fields,
) -> list[Suggestion]:
    """Past (no longer current) substitutions of ``chamber`` with the outcome ``status``: 5 t of
    steel scrap (17 04 05) from producer i (« Ferrailleur i », 38.32Z) to receiver j
    (« {receiver} j », ``receiver_naf``) for each ``(i, j)`` of ``pairs``, the establishments
    in ``commune`` (Versailles) and new on each call. ``fields`` go to every suggestion
    (``abandon_reason``, ``abandon_reason_code``)."""
    producers, receivers, made = {}, {}, []
    for n, (p, r) in enumerate(pairs):
        if p not in producers:
            producers[p] = EstablishmentFactory(
                commune_id=commune, name=f"Ferrailleur {p}", naf_id="38.32Z"
            )
        if r not in receivers:
            receivers[r] = EstablishmentFactory(
                commune_id=commune, name=f"{receiver} {r}", naf_id=receiver_naf
            )
        offer = FlowFactory(
            establishment=producers[p], waste_code=STEEL_SCRAP, quantity=5, unit="t"
        )
        need = FlowFactory(
            establishment=receivers[r],
            direction="need",
            resource_class="ferrous_metal_scrap",
            quantity=5,
            unit="t",
        )
        made.append(
            SuggestionFactory(
                key=f"H:{status}:{n}:{offer.pk}",
                chamber=chamber,
                resource_class=need.resource_class,
                offer_flow=offer,
                need_flow=need,
                score=0.5,
                status=status,
                is_current=False,
                **fields,
            )
        )
    return made
