"""Writes of the flows app: visits and flows, validated exactly as the forms validate them."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from maillage.accounts import services as audit
from maillage.accounts.models import AuditLog
from maillage.engine.classify import classify_text
from maillage.flows import policy
from maillage.flows.models import Flow, FlowRevision, Visit
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
    elif waste is not None and waste.resource_class is not None:
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
    """An advisor's visit and the flows recorded during it (plain values), all or nothing."""
    return save_visit(
        user,
        establishment,
        date=date,
        notes=notes,
        flows=[build_flow(establishment, **data) for data in flows],
    )


# Fields whose change is recorded in a flow's history, in the order shown.
TRACKED_FIELDS = [
    "direction",
    "category",
    "resource_class",
    "waste_code",
    "quantity",
    "unit",
    "period",
    "physical_state",
    "temperature_c",
    "available_from",
    "available_until",
    "description",
    "is_archived",
]


def _shown(flow: Flow, name: str) -> str | None:
    value = getattr(flow, name)
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):  # 42.000 as stored and 42 as typed are the same quantity
        return format(value.normalize(), "f")
    if isinstance(value, bool):
        return _("oui") if value else _("non")
    if name == "waste_code":
        return value.display
    if name == "resource_class":
        return value.label
    if hasattr(flow, f"get_{name}_display"):
        return str(getattr(flow, f"get_{name}_display")())
    return str(value)


def snapshot_of(flow: Flow) -> dict[str, str | None]:
    """What a flow's tracked fields look like to a user, to compare before and after an edit."""
    return {name: _shown(flow, name) for name in TRACKED_FIELDS}


def _deny_unless_editable(user, establishment) -> None:
    if not policy.can_edit_flows(user, establishment):
        raise PermissionDenied(
            _("Vous n'êtes pas autorisé à modifier les flux de cet établissement.")
        )


@transaction.atomic
def save_visit(user, establishment, *, date: datetime.date, notes: str, flows: list[Flow]) -> Visit:
    """Store a visit and its (validated, unsaved) flows together, each flow with its creation in
    the history: all or nothing."""
    if not policy.can_record_visit(user, establishment):
        raise PermissionDenied(
            _("Vous n'êtes pas autorisé à enregistrer une visite pour cet établissement.")
        )
    visit = Visit.objects.create(establishment=establishment, advisor=user, date=date, notes=notes)
    for flow in flows:
        flow.establishment = establishment
        flow.visit = visit
        create_flow(user, flow)
    return visit


def create_flow(user, flow: Flow) -> Flow:
    """Store a new validated flow and its creation in the history."""
    _deny_unless_editable(user, flow.establishment)
    with transaction.atomic():
        flow.full_clean()
        flow.save()
        FlowRevision.objects.create(
            flow=flow,
            user=user,
            action=FlowRevision.Action.CREATE,
            changes={k: [None, v] for k, v in snapshot_of(flow).items() if v is not None},
        )
        _audit(user, flow, "create")
    return flow


def _audit(user, flow: Flow, what: str) -> None:
    audit.record_change(
        user, [flow.establishment_id], AuditLog.Action.CHANGE_FLOWS, f"flux {flow.pk} : {what}"
    )


def update_flow(user, flow: Flow, before: dict[str, str | None]) -> FlowRevision | None:
    """Save an edited flow (``before`` = ``snapshot_of`` the stored flow) and record what changed.
    Nothing is written when nothing changed."""
    _deny_unless_editable(user, flow.establishment)
    after = snapshot_of(flow)
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if not changes:
        return None
    with transaction.atomic():
        flow.full_clean()
        flow.save()
        _audit(user, flow, "update " + ", ".join(sorted(changes)))
        return FlowRevision.objects.create(
            flow=flow, user=user, action=FlowRevision.Action.UPDATE, changes=changes
        )


def set_archived(user, flow: Flow, archived: bool) -> FlowRevision | None:
    """Archive a flow (it leaves detection and lists, its history stays) or restore it."""
    _deny_unless_editable(user, flow.establishment)
    if flow.is_archived == archived:
        return None
    before = snapshot_of(flow)
    with transaction.atomic():
        flow.is_archived = archived
        flow.save(update_fields=["is_archived", "updated_at", "yearly_quantity", "canonical_unit"])
        _audit(user, flow, "archive" if archived else "restore")
        return FlowRevision.objects.create(
            flow=flow,
            user=user,
            action=FlowRevision.Action.ARCHIVE if archived else FlowRevision.Action.RESTORE,
            changes={"is_archived": [before["is_archived"], snapshot_of(flow)["is_archived"]]},
        )
