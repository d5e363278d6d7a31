"""Forms of the synergy pipeline: a status change (with its reason or outcome)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from maillage.synergies.models import Suggestion


class TransitionForm(forms.Form):
    to_status = forms.ChoiceField(label=_("Nouveau statut"), choices=Suggestion.Status.choices)
    note = forms.CharField(
        label=_("Note ou motif"),
        required=False,
        max_length=2000,
        widget=forms.Textarea({"rows": 2}),
    )
    abandon_reason_code = forms.ChoiceField(
        label=_("Type de motif (abandon)"),
        required=False,
        choices=[("", "—"), *Suggestion.AbandonReason.choices],
    )
    actual_quantity = forms.FloatField(
        label=_("Quantité réellement échangée par an"), required=False, min_value=0
    )
    actual_savings_eur = forms.FloatField(
        label=_("Économies annuelles (€)"), required=False, min_value=-1e9, max_value=1e9
    )
    agreement_on = forms.DateField(
        label=_("Date de l'accord hors plateforme"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_(
            "sans mise en relation proposée sur la plateforme : la date à laquelle les "
            "entreprises ont donné leur accord (décrivez-le dans la note)"
        ),
    )
