"""Factories for the synergies app: suggestions, the sides of an introduction, detection runs."""

from __future__ import annotations

import factory

from maillage.synergies.models import DetectionRun, Introduction, Suggestion
from tests.factories import ChamberFactory, EstablishmentFactory, FlowFactory


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


class IntroductionFactory(factory.django.DjangoModelFactory):
    """One side of an introduction, proposed and not yet answered."""

    class Meta:
        model = Introduction

    suggestion = factory.SubFactory(SuggestionFactory)
    establishment = factory.SubFactory(EstablishmentFactory)


class DetectionRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DetectionRun

    chamber = factory.SubFactory(ChamberFactory)
    state = DetectionRun.State.DONE
    progress = 100
