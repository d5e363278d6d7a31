"""Filters and sort of the advisor's suggestion list (django-filter), over the suggestions the
policy already lets the user see: company, commune, EPCI, resource class, score, distance, kind,
status; sorted by score, distance, quantity or date."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from maillage.reference.lookup import picked_code
from maillage.reference.widgets import commune_input
from maillage.synergies.models import Suggestion

SIDES = ("offer_flow__establishment", "need_flow__establishment", "prospect")


def _any_side(queryset, suffix: str, value):
    q = Q()
    for side in SIDES:
        q |= Q(**{f"{side}__{suffix}": value})
    return queryset.filter(q).distinct()


class SuggestionFilter(django_filters.FilterSet):
    entreprise = django_filters.CharFilter(
        label=_("Entreprise (nom ou SIRET)"), method="filter_company"
    )
    commune = django_filters.CharFilter(
        label=_("Commune (nom ou code INSEE)"), method="filter_commune", widget=commune_input()
    )
    epci = django_filters.CharFilter(label=_("EPCI (nom ou SIREN)"), method="filter_epci")
    ressource = django_filters.CharFilter(label=_("Classe de ressource"), method="filter_resource")
    score_min = django_filters.NumberFilter(
        label=_("Score minimal"), field_name="score", lookup_expr="gte", min_value=0, max_value=1
    )
    distance_max = django_filters.NumberFilter(
        label=_("Distance maximale (km)"), field_name="distance_km", lookup_expr="lte", min_value=0
    )
    type = django_filters.ChoiceFilter(
        label=_("Type"), field_name="kind", choices=Suggestion.Kind.choices, empty_label=_("tous")
    )
    statut = django_filters.ChoiceFilter(
        label=_("Statut"),
        field_name="status",
        choices=Suggestion.Status.choices,
        empty_label=_("tous"),
    )
    tri = django_filters.OrderingFilter(
        label=_("Trier par"),
        fields=(
            ("score", "score"),
            ("distance_km", "distance"),
            ("quantity", "quantite"),
            ("first_detected_at", "date"),
        ),
        field_labels={
            "score": _("score"),
            "-score": _("score (décroissant)"),
            "distance_km": _("distance"),
            # django-filter looks the descending labels up by parameter name, not field name
            "-distance": _("distance (décroissante)"),
            "quantity": _("quantité"),
            "-quantite": _("quantité (décroissante)"),
            "first_detected_at": _("date de détection"),
            "-date": _("date de détection (récentes d'abord)"),
        },
        empty_label=_("score (décroissant)"),
    )

    class Meta:
        model = Suggestion
        fields: list[str] = []

    def filter_company(self, queryset, name, value):
        value = value.strip()
        if value.replace(" ", "").isdigit():
            return _any_side(queryset, "siret__startswith", value.replace(" ", ""))
        return _any_side(queryset, "name__icontains", value)

    def filter_commune(self, queryset, name, value):
        value = picked_code(value)  # « Dunkerque (59183) » picked from the suggestions
        if value.isdigit() or (len(value) == 5 and value[:2] in ("2A", "2B")):
            return _any_side(queryset, "commune_id", value)
        return _any_side(queryset, "commune__name__iexact", value)

    def filter_epci(self, queryset, name, value):
        value = value.strip()
        if value.isdigit():
            return _any_side(queryset, "commune__epci_id", value)
        return _any_side(queryset, "commune__epci__name__icontains", value)

    def filter_resource(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(resource_class__code__iexact=value) | Q(resource_class__label__icontains=value)
        )
