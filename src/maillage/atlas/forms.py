"""Filters of the territorial dashboard and of the audit log (choices limited by the policy)."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext_lazy as _

from maillage.accounts import policy as accounts_policy
from maillage.accounts.models import Chamber, TerritoryCommune, User
from maillage.atlas import policy
from maillage.reference.models import Departement, Epci


@dataclass(frozen=True)
class Scope:
    chamber_id: int
    chamber_name: str
    departement: str = ""
    epci: str = ""

    @property
    def label(self) -> str:
        return " · ".join(p for p in (self.chamber_name, self.departement, self.epci) if p)


class DashboardFilter(forms.Form):
    chamber = forms.ModelChoiceField(
        queryset=Chamber.objects.none(), label=_("Chambre"), required=False
    )
    departement = forms.ModelChoiceField(
        queryset=Departement.objects.none(),
        label=_("Département"),
        required=False,
        empty_label=_("tous"),
    )
    epci = forms.ModelChoiceField(
        queryset=Epci.objects.none(), label=_("EPCI"), required=False, empty_label=_("tous")
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        chamber, departement, epci = (self.fields[n] for n in ("chamber", "departement", "epci"))
        assert isinstance(chamber, forms.ModelChoiceField)
        assert isinstance(departement, forms.ModelChoiceField)
        assert isinstance(epci, forms.ModelChoiceField)
        chambers = policy.dashboard_chambers(user).order_by("name", "pk")
        chamber.queryset = chambers
        chamber.empty_label = None
        self.chambers = list(chambers)
        territory = TerritoryCommune.objects.filter(chamber__in=chambers)
        departements = Departement.objects.filter(
            code__in=territory.values("commune__departement_id")
        )
        departement.queryset = departements.order_by("code")
        epcis = Epci.objects.filter(code__in=territory.values("commune__epci_id"))
        epci.queryset = epcis.order_by("name", "code")

    def scope(self) -> Scope | None:
        if not self.chambers:
            return None
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        chamber = data.get("chamber") or self.chambers[0]
        dep = data.get("departement")
        epci = data.get("epci")
        return Scope(
            chamber.pk,
            chamber.name,
            departement=dep.code if dep else "",
            epci=epci.code if epci else "",
        )


class AuditFilter(forms.Form):
    advisor = forms.ModelChoiceField(
        queryset=User.objects.none(), label=_("Conseiller"), required=False
    )
    establishment = forms.CharField(label=_("Établissement (nom ou SIRET)"), required=False)
    start = forms.DateField(
        label=_("Du"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("Au"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Whoever appears in the log the user may read (partner chambers' advisors included).
        advisor = self.fields["advisor"]
        assert isinstance(advisor, forms.ModelChoiceField)
        advisor.queryset = User.objects.filter(
            pk__in=accounts_policy.visible_audit_entries(user).values("user_id")
        ).order_by("username")

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError(_("La date de fin précède la date de début."))
        return data

    def filter(self, entries):
        if not (self.is_bound and self.is_valid()):
            return entries
        data = self.cleaned_data
        if data.get("advisor"):
            entries = entries.filter(user=data["advisor"])
        if data.get("establishment"):
            text = data["establishment"].strip()
            digits = text.replace(" ", "")
            entries = (
                entries.filter(establishment__siret__startswith=digits)
                if digits.isdigit()
                else entries.filter(establishment__name__icontains=text)
            )
        if data.get("start"):
            entries = entries.filter(at__date__gte=data["start"])
        if data.get("end"):
            entries = entries.filter(at__date__lte=data["end"])
        return entries
