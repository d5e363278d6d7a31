"""Writes of the directory app: establishments created or updated from plain values (forms,
spreadsheet and SIRENE imports), validated with the same rules and messages everywhere."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from maillage.directory.models import Establishment, validate_siret
from maillage.reference.fields import commune as commune_for_code
from maillage.reference.fields import naf_subclass

FIELDS = [
    "name",
    "naf",
    "headcount_band",
    "address",
    "commune",
    "latitude",
    "longitude",
    "is_active",
    "closed_on",
    "is_large_buyer",
]


def clean_establishment(values: dict) -> dict:
    """Validate typed values (SIRET, NAF code, INSEE commune code…); ValidationError per field."""
    errors: dict[str, list[str]] = {}
    cleaned = dict(values)
    siret = str(values.get("siret", "")).replace(" ", "")
    try:
        validate_siret(siret)
    except ValidationError as exc:
        errors["siret"] = exc.messages
    cleaned["siret"] = siret
    for name, parse in (("naf", naf_subclass), ("commune", commune_for_code)):
        raw = values.get(name)
        if raw is None or isinstance(raw, str):
            try:
                cleaned[name] = parse(raw or "")
            except ValidationError as exc:
                errors[name] = exc.messages
    if not str(values.get("name", "")).strip():
        errors["name"] = ["La raison sociale est obligatoire."]
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def upsert_establishment(values: dict) -> tuple[Establishment, bool]:
    """Create or update the establishment keyed by its SIRET; returns (establishment, created)."""
    cleaned = clean_establishment(values)
    defaults = {f: cleaned[f] for f in FIELDS if f in cleaned}
    establishment = Establishment.objects.filter(siret=cleaned["siret"]).first()
    created = establishment is None
    if created:
        establishment = Establishment(siret=cleaned["siret"])
    for name, value in defaults.items():
        setattr(establishment, name, value)
    establishment.full_clean()
    establishment.save()
    return establishment, created


EDITABLE_ON_THE_WEB = ["name", "naf", "headcount_band", "address"]


@transaction.atomic
def update_establishment(user, establishment: Establishment, values: dict) -> list[str]:
    """Change what a company or its chamber may correct on the web (name, activity, headcount,
    address); returns the names of the fields that changed. Identity keys (SIRET, commune) come
    from SIRENE and are not edited here."""
    from django.core.exceptions import PermissionDenied

    from maillage.accounts import policy

    if not policy.can_edit_establishment(user, establishment):
        raise PermissionDenied("Vous ne pouvez pas modifier cet établissement.")
    changed = []
    for name in EDITABLE_ON_THE_WEB:
        if name in values and getattr(establishment, name) != values[name]:
            setattr(establishment, name, values[name])
            changed.append(name)
    if changed:
        establishment.full_clean()
        establishment.save(update_fields=[*changed, "updated_at"])
    return changed


# -- export projects and contact requests to export advisors --------------------------------------


def save_export_project(user, establishment, countries: list[str], sectors: list[str]):
    """Store what an SME targets; bad codes raise ValidationError with a French message."""
    from django.core.exceptions import PermissionDenied

    from maillage.accounts import policy
    from maillage.directory.models import ExportProject

    if not policy.can_manage_export_project(user, establishment):
        raise PermissionDenied
    project = ExportProject.objects.filter(establishment=establishment).first() or ExportProject(
        establishment=establishment
    )
    project.countries = sorted({c.strip().upper() for c in countries if c.strip()})
    project.sectors = sorted(set(sectors))
    project.full_clean()
    project.save()
    return project


def request_advisor_contact(user, establishment, advisor, message: str = ""):
    from django.core.exceptions import PermissionDenied
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from maillage import notifications
    from maillage.accounts import policy
    from maillage.directory.models import AdvisorContactRequest

    if not policy.can_manage_export_project(user, establishment):
        raise PermissionDenied
    if AdvisorContactRequest.objects.filter(establishment=establishment, advisor=advisor).exists():
        raise ValidationError(_("Vous avez déjà demandé un contact à ce conseiller."))
    req = AdvisorContactRequest.objects.create(
        establishment=establishment, requested_by=user, advisor=advisor, message=message[:2000]
    )
    notifications.notify(
        [advisor.user],
        notifications.EXPORT_CONTACT,
        title=_("Demande de contact export"),
        body=_("%(who)s souhaite être accompagné à l'international. Répondez depuis Maillage.")
        % {"who": establishment.name},
        url=reverse("export-directory"),
    )
    return req


def answer_advisor_contact(user, contact_request, accept: bool) -> None:
    from django.core.exceptions import PermissionDenied
    from django.urls import reverse
    from django.utils import timezone
    from django.utils.translation import gettext as _

    from maillage import notifications
    from maillage.accounts import policy
    from maillage.directory.models import AdvisorContactRequest

    if not policy.can_answer_contact_request(user, contact_request):
        raise PermissionDenied
    if contact_request.status != AdvisorContactRequest.Status.PENDING:
        raise ValidationError(_("Cette demande a déjà reçu une réponse."))
    contact_request.status = (
        AdvisorContactRequest.Status.ACCEPTED if accept else AdvisorContactRequest.Status.DECLINED
    )
    contact_request.answered_at = timezone.now()
    contact_request.save(update_fields=["status", "answered_at"])
    notifications.notify(
        [contact_request.requested_by],
        notifications.EXPORT_ANSWER,
        title=_("Réponse du conseiller du commerce extérieur"),
        body=(
            _("%(who)s a accepté votre demande : ses coordonnées sont visibles dans Maillage.")
            if accept
            else _("%(who)s ne peut pas donner suite à votre demande.")
        )
        % {"who": contact_request.advisor.name},
        url=reverse("export-project", args=[contact_request.establishment_id]),
    )
