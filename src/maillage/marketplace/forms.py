"""Forms of the marketplace pages (French labels come from the models)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from maillage.directory.models import Establishment
from maillage.engine import taxonomy
from maillage.marketplace.models import (
    Category,
    Lot,
    Need,
    Response,
    SupplierProfile,
)
from maillage.networks import policy as networks_policy
from maillage.reference.fields import CommuneField


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)] if data else []


def _folded(text: str) -> str:
    return " ".join(taxonomy.fold(text).replace(",", " ").split())


def category_from_label(text: str) -> str | None:
    """The category a person names in French: its full label (« mécanique, usinage,
    chaudronnerie ») or one of its parts (« usinage »), in any case and with or without accents;
    the internal code is still accepted. None when nothing matches."""
    wanted = _folded(text)
    if not wanted:
        return None
    for code, label in Category.choices:
        parts = [str(label), *str(label).split(",")]
        if wanted == code or any(_folded(part) == wanted for part in parts):
            return code
    return None


def category_labels() -> str:
    return " ; ".join(str(label) for _code, label in Category.choices)


MAX_LOTS = 10
# Empty rows offered after the existing lots (a need has at most MAX_LOTS lots).
EXTRA_LOT_ROWS = 3


class LotForm(forms.Form):
    """One lot of a need: its title and its category, picked from the French labels."""

    title = forms.CharField(label=_("intitulé du lot"), max_length=200, required=False)
    category = forms.ChoiceField(
        label=_("catégorie du lot"),
        required=False,
        choices=[("", _("— sans catégorie —")), *Category.choices],
    )

    def clean(self):
        super().clean()
        data = self.cleaned_data
        data["title"] = (data.get("title") or "").strip()
        if data.get("category") and not data["title"]:
            self.add_error("title", _("Donnez un intitulé à ce lot (ou retirez sa catégorie)."))
        return data


LotFormSet = forms.formset_factory(
    LotForm, extra=0, max_num=MAX_LOTS, absolute_max=MAX_LOTS, validate_max=True
)


class NeedForm(forms.ModelForm):
    """The need and, as a formset under the ``lots`` prefix, its lots (one row each: a title and
    a category select). Rows left empty are ignored; the lots keep the order of the rows."""

    delivery_commune = CommuneField(
        label=_("lieu de livraison ou d'exécution (commune, nom ou code INSEE)"), required=False
    )
    # The metaclass moves this field to base_fields; the instance's uploaded ``files`` stay.
    files = MultipleFileField(label=_("pièces jointes"), required=False)  # type: ignore[assignment]

    class Meta:
        model = Need
        fields = [
            "buyer",
            "theme",
            "kind",
            "title",
            "description",
            "category",
            "quantity",
            "budget",
            "deadline",
            "expertise",
            "positions",
            "skills",
            "visibility",
            "visibility_chamber",
            "visibility_network",
            "hide_buyer",
            "closes_on",
        ]
        widgets = {
            "deadline": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "closes_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 5}),
        }

    def __init__(self, *args, buyers=None, **kwargs):
        super().__init__(*args, **kwargs)
        network = self.fields["visibility_network"]
        assert isinstance(network, forms.ModelChoiceField)
        network.queryset = networks_policy.listed_networks()
        existing = []
        if self.instance.pk:
            # The buyer of an existing need never changes: no buyer field to fill.
            self.fields.pop("buyer")
            self.initial["delivery_commune"] = self.instance.delivery_commune_id or ""
            existing = [
                {"title": lot.title, "category": lot.category}
                for lot in self.instance.lots.order_by("number")
            ]
        else:
            buyer = self.fields["buyer"]
            assert isinstance(buyer, forms.ModelChoiceField)
            buyer.queryset = buyers if buyers is not None else Establishment.objects.none()
            buyer.empty_label = None
        rows = min(MAX_LOTS, len(existing) + EXTRA_LOT_ROWS)
        # Bound, the rows are read as posted (an initial value would make an unchanged row look
        # empty, and the lot be dropped).
        self.lots = (
            LotFormSet(self.data, prefix="lots")
            if self.is_bound
            else LotFormSet(prefix="lots", initial=existing + [{}] * (rows - len(existing)))
        )

    def is_valid(self):
        # Both, so that the errors of each are shown at once.
        need_ok = super().is_valid()
        lots_ok = self.lots.is_valid()
        return need_ok and lots_ok

    @property
    def cleaned_lots(self) -> list[tuple[str, str]]:
        """(title, category code) of each filled row, in order."""
        return [
            (row["title"], row.get("category") or "")
            for row in self.lots.cleaned_data
            if row.get("title")
        ]


class LotChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return _("Lot %(n)d : %(t)s") % {"n": obj.number, "t": obj.title}


class ResponseForm(forms.Form):
    supplier = forms.ModelChoiceField(
        queryset=Establishment.objects.none(), label=_("au nom de"), empty_label=None
    )
    lot = LotChoiceField(
        queryset=Lot.objects.none(),
        label=_("lot"),
        required=False,
        empty_label=_("l'ensemble du besoin"),
        help_text=_(
            "répondez à un lot ou à l'ensemble ; répondre de nouveau au même lot crée une "
            "nouvelle version, l'historique est conservé"
        ),
    )
    message = forms.CharField(label=_("message"), widget=forms.Textarea(attrs={"rows": 4}))
    price_band = forms.ChoiceField(
        label=_("fourchette de prix"), required=False, choices=Response.PriceBand.choices
    )
    partners = forms.CharField(
        label=_("co-traitants (groupement)"),
        required=False,
        max_length=80,
        help_text=_(
            "SIRET des entreprises de l'annuaire qui répondent avec vous, séparés par des virgules"
        ),
    )
    # The metaclass moves this field to base_fields; the instance's uploaded ``files`` stay.
    files = MultipleFileField(label=_("pièces jointes"), required=False)  # type: ignore[assignment]

    def clean_partners(self):
        return [s.strip() for s in self.cleaned_data["partners"].split(",") if s.strip()]

    def __init__(self, *args, suppliers=None, need=None, **kwargs):
        super().__init__(*args, **kwargs)

        supplier, lot_field = self.fields["supplier"], self.fields["lot"]
        assert isinstance(supplier, forms.ModelChoiceField)
        assert isinstance(lot_field, forms.ModelChoiceField)
        supplier.queryset = suppliers
        # a lot already awarded or closed receives no more responses
        lots = (
            need.lots.filter(decided_at__isnull=True).order_by("number")
            if need is not None
            else Lot.objects.none()
        )
        lot_field.queryset = lots
        if need is None or not lots.exists():
            self.fields.pop("lot")


class SupplierProfileForm(forms.ModelForm):
    categories = forms.MultipleChoiceField(
        label=_("catégories"),
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = SupplierProfile
        fields = [
            "capabilities",
            "tags",
            "categories",
            "certifications",
            "service_radius_km",
            "references",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["categories"] = self.instance.category_list

    def clean_categories(self):
        return " ".join(self.cleaned_data["categories"])


class DirectorySearchForm(forms.Form):
    q = forms.CharField(label=_("mots"), required=False, max_length=200)
    category = forms.ChoiceField(
        label=_("catégorie"), required=False, choices=[("", _("toutes")), *Category.choices]
    )
    commune = CommuneField(label=_("autour de (commune, nom ou code INSEE)"), required=False)
    km = forms.IntegerField(label=_("à moins de (km)"), required=False, min_value=1, max_value=1000)
    size = forms.ChoiceField(
        label=_("taille"),
        required=False,
        choices=[
            ("", _("toutes")),
            ("tpe", _("TPE (moins de 10 salariés)")),
            ("pme", _("PME (10 à 249)")),
            ("grande", _("250 salariés et plus")),
        ],
    )
    network = forms.ModelChoiceField(
        label=_("réseau"), required=False, queryset=networks_policy.listed_networks()
    )
