"""Writes of the flows app: visits and flows, validated exactly as the forms validate them."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from maillage.accounts import policy
from maillage.engine.taxonomy import classify_text
from maillage.flows.models import Flow, Visit
from maillage.reference.fields import waste_entry
from maillage.reference.models import ResourceClass


def _decimal(value) -> Decimal:
    try:
        return Decimal(str(value).replace(",", ".").replace(" ", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError({"quantity": _("Quantité « %s » illisible.") % value}) from None


def build_flow(
    establishment,
    *,
    direction: str,
    resource_class: str | None = None,
    waste_code: str | None = None,
    quantity,
    unit: str,
    period: str = "year",
    visit: Visit | None = None,
    **extra,
) -> Flow:
    """A validated, unsaved Flow from plain values (class code, waste code as typed…)."""
    waste = None
    if waste_code:
        try:
            waste = waste_entry(waste_code)
        except ValidationError as exc:
            raise ValidationError({"waste_code": exc.messages}) from None
    if resource_class:
        try:
            klass = ResourceClass.objects.get(pk=resource_class)
        except ResourceClass.DoesNotExist:
            raise ValidationError(
                {"resource_class": _("Classe de ressource « %s » inconnue.") % resource_class}
            ) from None
    elif waste is not None and waste.resource_class_id:
        klass = waste.resource_class
    elif guess := classify_text(extra.get("description", ""), direction):
        # Neither a class nor a code: the description decides (the advisor can correct it).
        klass = ResourceClass.objects.get(pk=guess[0][0])
    else:
        raise ValidationError(
            {
                "resource_class": _(
                    "Indiquez une classe de ressource, un code déchet ou une description "
                    "reconnaissable (par exemple « palettes cassées »)."
                )
            }
        )
    flow = Flow(
        establishment=establishment,
        visit=visit,
        direction=direction,
        category=extra.pop("category", klass.category),
        resource_class=klass,
        waste_code=waste,
        quantity=_decimal(quantity),
        unit=unit,
        period=period,
        **extra,
    )
    flow.full_clean()
    return flow


@transaction.atomic
def record_visit(
    user, establishment, *, date: datetime.date, notes: str = "", flows: list[dict]
) -> Visit:
    """An advisor's visit and the flows recorded during it, all or nothing."""
    if not policy.can_edit_flows(user, establishment):
        raise PermissionError(
            _("Vous n'êtes pas autorisé à enregistrer des flux pour cet établissement.")
        )
    visit = Visit.objects.create(establishment=establishment, advisor=user, date=date, notes=notes)
    for data in flows:
        build_flow(establishment, visit=visit, **data).save()
    return visit
