"""Writes of the directory app: establishments created or updated from plain values (forms,
spreadsheet and SIRENE imports), validated with the same rules and messages everywhere."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.accounts import services as audit
from maillage.accounts.models import AuditLog
from maillage.directory import policy
from maillage.directory.models import (
    Establishment,
    ExportContactRequest,
    ExportProject,
    validate_siret,
)
from maillage.directory.notifications import EXPORT_ANSWER, EXPORT_EXPIRED, EXPORT_REQUEST
from maillage.directory.selectors import country_codes
from maillage.engine.legal import parse_rubriques
from maillage.notifications import notify
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
    "icpe_rubriques",
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
    rubriques = values.get("icpe_rubriques")
    if isinstance(rubriques, str):
        # a spreadsheet cell "2790;2770"; empty: nothing recorded by this file, keep what is
        if rubriques.strip():
            kept, bad = parse_rubriques(rubriques.replace(",", ";").split(";"))
            if bad:
                errors["icpe_rubriques"] = bad
            cleaned["icpe_rubriques"] = list(kept)
        else:
            cleaned.pop("icpe_rubriques")
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
    found = Establishment.objects.filter(siret=cleaned["siret"]).first()
    created = found is None
    establishment = Establishment(siret=cleaned["siret"]) if found is None else found
    for name, value in defaults.items():
        setattr(establishment, name, value)
    establishment.full_clean()
    establishment.save()
    return establishment, created


EDITABLE_ON_THE_WEB = ["name", "naf", "headcount_band", "address"]


@transaction.atomic
def create_establishment(user, values: dict) -> Establishment:
    """Add an establishment typed on the web (SIRET, name, NAF, commune, headcount, address) by
    chamber staff in their own territory; ValidationError per field, audited like a change."""

    if not policy.can_create_establishment(user, values.get("commune")):
        raise PermissionDenied(_("Cette commune n'est pas sur le territoire de votre chambre."))
    cleaned = clean_establishment(values)
    if Establishment.objects.filter(siret=cleaned["siret"]).exists():
        raise ValidationError({"siret": [_("Un établissement porte déjà ce SIRET.")]})
    establishment = Establishment(
        siret=cleaned["siret"], **{f: cleaned[f] for f in EDITABLE_ON_THE_WEB + ["commune"]}
    )
    establishment.full_clean()
    establishment.save()
    audit.record_change(
        user, [establishment], AuditLog.Action.CHANGE_ESTABLISHMENT, "création sur le web"
    )
    return establishment


@transaction.atomic
def update_establishment(user, establishment: Establishment, values: dict) -> list[str]:
    """Change what a company or its chamber may correct on the web (name, activity, headcount,
    address); returns the names of the fields that changed. Identity keys (SIRET, commune) come
    from SIRENE and are not edited here."""

    if not policy.can_edit_establishment(user, establishment):
        raise PermissionDenied("Vous ne pouvez pas modifier cet établissement.")
    changed = []
    for name in EDITABLE_ON_THE_WEB:
        if name in values and getattr(establishment, name) != values[name]:
            setattr(establishment, name, values[name])
            changed.append(name)
    if "icpe_rubriques" in values and establishment.icpe_rubriques != values["icpe_rubriques"]:
        if not policy.can_set_icpe_rubriques(user, establishment):
            raise PermissionDenied(
                "Seuls les conseillers de la chambre enregistrent les rubriques ICPE."
            )
        establishment.icpe_rubriques = sorted(set(values["icpe_rubriques"]))
        changed.append("icpe_rubriques")
    if changed:
        establishment.full_clean()
        establishment.save(update_fields=[*changed, "updated_at"])

        audit.record_change(
            user, [establishment], AuditLog.Action.CHANGE_ESTABLISHMENT, ", ".join(changed)
        )
    return changed


# -- export projects and contact requests to export advisors --------------------------------------


def save_export_project(user, establishment, countries: list[str], sectors: list[str]):
    """Store what an SME targets; bad codes raise ValidationError with a French message."""

    if not policy.can_manage_export_project(user, establishment):
        raise PermissionDenied
    project = ExportProject.objects.filter(establishment=establishment).first() or ExportProject(
        establishment=establishment
    )

    project.countries = country_codes(countries)
    project.sectors = sorted(set(sectors))
    project.full_clean()
    project.save()
    return project


def _project_for_request(establishment):

    project = ExportProject.objects.filter(establishment=establishment).first()
    if project is None or not (project.countries or project.sectors):
        raise ValidationError(
            _("Déclarez d'abord les pays et secteurs visés : ils accompagnent votre demande.")
        )
    return project


@transaction.atomic
def request_export_contact(user, establishment, *, advisor=None, cluster=None, message: str = ""):
    """An SME asks an export advisor or a cluster for a contact; the addressee is notified. The
    request carries a copy of the SME's project (countries, sectors) and its message."""

    if not policy.can_request_export_contact(user, establishment):
        raise PermissionDenied
    if (advisor is None) == (cluster is None):
        raise ValueError("exactly one of advisor and cluster")
    target = {"advisor": advisor} if advisor is not None else {"cluster": cluster}
    open_requests = ExportContactRequest.objects.exclude(
        status__in=ExportContactRequest.CLOSED_UNANSWERED
    )
    if open_requests.filter(establishment=establishment, **target).exists():
        raise ValidationError(
            _("Vous avez déjà demandé un contact à ce conseiller.")
            if advisor is not None
            else _("Vous avez déjà demandé un contact à ce pôle.")
        )
    project = _project_for_request(establishment)
    if cluster is not None and not cluster.managers.exists():
        raise ValidationError(
            _("Ce pôle n'a pas encore de contact sur Maillage : écrivez-lui depuis son site.")
        )
    req = ExportContactRequest(
        establishment=establishment,
        requested_by=user,
        countries=list(project.countries),
        sectors=list(project.sectors),
        message=message.strip()[:2000],
        **target,
    )
    req.full_clean()
    req.save()
    notify(
        _recipients(req),
        EXPORT_REQUEST,
        title=_("Demande de contact export de %(who)s") % {"who": establishment.name},
        body=_("%(who)s souhaite être accompagné à l'international. Répondez depuis Maillage.")
        % {"who": establishment.name},
        url=reverse("export-request", args=[req.pk]),
    )
    return req


@transaction.atomic
def answer_export_contact(user, contact_request, accept: bool, answer: str = ""):
    """The addressee accepts or declines, once, with a message; the requester is notified."""

    if not policy.can_answer_export_request(user, contact_request):
        raise PermissionDenied
    # Lock the row: two contacts of one cluster answering at once must not both win.
    locked = ExportContactRequest.objects.select_for_update().get(pk=contact_request.pk)
    Status = ExportContactRequest.Status
    new = Status.ACCEPTED if accept else Status.DECLINED
    if new not in _next_statuses(locked.status):
        raise ValidationError(_closed_message(locked.status))
    contact_request.status = new
    contact_request.answer = answer.strip()[:2000]
    contact_request.answered_at = timezone.now()
    contact_request.answered_by = user
    contact_request.save(update_fields=["status", "answer", "answered_at", "answered_by"])
    who = str(contact_request.addressee)
    notify(
        [contact_request.requested_by],
        EXPORT_ANSWER,
        title=(
            _("%(who)s a accepté votre demande de contact") % {"who": who}
            if accept
            else _("%(who)s a décliné votre demande de contact") % {"who": who}
        ),
        body=(
            _("Ses coordonnées sont visibles dans Maillage.")
            if accept
            else _("%(who)s ne peut pas donner suite à votre demande.") % {"who": who}
        ),
        url=reverse("export-request", args=[contact_request.pk]),
    )
    return contact_request


def _next_statuses(status: str) -> set[ExportContactRequest.Status]:
    """The statuses a request may move to from ``status`` (none once it is closed)."""
    return ExportContactRequest.TRANSITIONS.get(ExportContactRequest.Status(status), set())


def _closed_message(status) -> str:
    """Why a request that is no longer pending cannot be answered or withdrawn (French)."""

    Status = ExportContactRequest.Status
    if status == Status.WITHDRAWN:
        return _("Cette demande a été retirée par l'entreprise.")
    if status == Status.EXPIRED:
        return _("Cette demande a expiré sans réponse.")
    return _("Cette demande a déjà reçu une réponse.")


@transaction.atomic
def withdraw_export_contact(user, contact_request):
    """The SME's side withdraws a pending request; the addressee is told, and can no longer
    answer it. The SME may ask the same addressee again later."""

    if not policy.can_withdraw_export_request(user, contact_request):
        raise PermissionDenied
    locked = ExportContactRequest.objects.select_for_update().get(pk=contact_request.pk)
    Status = ExportContactRequest.Status
    if Status.WITHDRAWN not in _next_statuses(locked.status):
        raise ValidationError(_closed_message(locked.status))
    contact_request.status = Status.WITHDRAWN
    contact_request.withdrawn_at = timezone.now()
    contact_request.save(update_fields=["status", "withdrawn_at"])
    who = contact_request.establishment.name
    notify(
        _recipients(contact_request),
        EXPORT_REQUEST,
        title=_("%(who)s a retiré sa demande de contact export") % {"who": who},
        body=_("Vous n'avez plus à y répondre."),
        url=reverse("export-request", args=[contact_request.pk]),
    )
    return contact_request


REMIND_AFTER_DAYS = 7
EXPIRE_AFTER_DAYS = 30
# An addressee reminded late (a request older than the expiry when first reminded) still gets
# these days to answer before it expires.
EXPIRE_GRACE_DAYS = 3


def _recipients(contact_request) -> list:
    if contact_request.advisor_id:
        return [contact_request.advisor.user]
    return list(contact_request.cluster.managers.order_by("pk"))


def remind_unanswered_export_requests(now=None, after_days: int = REMIND_AFTER_DAYS) -> int:
    """Remind the addressees of requests still pending ``after_days`` after they were made, once
    per request (run daily; idempotent). Returns the number of requests reminded."""

    now = now or timezone.now()
    due = (
        ExportContactRequest.objects.filter(
            status=ExportContactRequest.Status.PENDING,
            reminded_at__isnull=True,
            created_at__lte=now - datetime.timedelta(days=after_days),
        )
        .select_related("establishment", "advisor__user", "cluster")
        .order_by("created_at", "pk")
    )
    reminded = 0
    for req in due:
        with transaction.atomic():
            # Claim the row first: two runs at once remind each request once.
            claimed = ExportContactRequest.objects.filter(
                pk=req.pk, reminded_at__isnull=True
            ).update(reminded_at=now)
            if not claimed:
                continue
            notify(
                _recipients(req),
                EXPORT_REQUEST,
                title=_("Rappel : %(who)s attend votre réponse") % {"who": req.establishment.name},
                body=_(
                    "%(who)s vous a demandé un contact le %(date)s. Acceptez ou déclinez depuis "
                    "Maillage : l'entreprise est prévenue dans les deux cas."
                )
                % {"who": req.establishment.name, "date": req.created_at.strftime("%d/%m/%Y")},
                url=reverse("export-request", args=[req.pk]),
            )
        reminded += 1
    return reminded


def expire_unanswered_export_requests(now=None, after_days: int = EXPIRE_AFTER_DAYS) -> int:
    """Close the requests still pending ``after_days`` after they were made, once the addressee
    was reminded at least ``EXPIRE_GRACE_DAYS`` before, and tell the SME so it can ask someone else (run daily, after the reminders;
    idempotent). Returns the number of requests expired."""

    now = now or timezone.now()
    Status = ExportContactRequest.Status
    due = (
        ExportContactRequest.objects.filter(
            status=Status.PENDING,
            reminded_at__lte=now - datetime.timedelta(days=EXPIRE_GRACE_DAYS),
            created_at__lte=now - datetime.timedelta(days=after_days),
        )
        .select_related("establishment", "advisor", "cluster", "requested_by")
        .order_by("created_at", "pk")
    )
    expired = 0
    for req in due:
        with transaction.atomic():
            # Claim the row: an answer given meanwhile, or another run, wins.
            claimed = ExportContactRequest.objects.filter(pk=req.pk, status=Status.PENDING).update(
                status=Status.EXPIRED, expired_at=now
            )
            if not claimed:
                continue
            who = str(req.addressee)
            notify(
                [req.requested_by],
                EXPORT_EXPIRED,
                title=_("%(who)s n'a pas répondu à votre demande de contact") % {"who": who},
                body=_(
                    "Votre demande du %(date)s est close faute de réponse. Vous pouvez solliciter "
                    "un autre conseiller ou pôle depuis votre projet export."
                )
                % {"date": req.created_at.strftime("%d/%m/%Y")},
                url=reverse("export-project", args=[req.establishment_id]),
            )
        expired += 1
    return expired


ADVISOR_EDITABLE = ["available", "availability_note", "countries", "languages", "sectors", "phone"]


def update_export_advisor(user, advisor, values: dict) -> list[str]:
    """An export advisor updates their own directory entry; codes are checked (French messages)
    and nothing is saved unless everything is valid. Returns the fields that changed."""

    if not policy.can_edit_export_advisor(user, advisor):
        raise PermissionDenied
    normalise = {
        "countries": country_codes,
        "languages": lambda v: sorted({c.strip().lower() for c in v if c.strip()}),
        "sectors": lambda v: sorted(set(v)),
    }
    changed = []
    for name in ADVISOR_EDITABLE:
        if name not in values:
            continue
        value = normalise.get(name, lambda v: v)(values[name])
        if getattr(advisor, name) != value:
            setattr(advisor, name, value)
            changed.append(name)
    if changed:
        advisor.full_clean()
        advisor.save(update_fields=changed)
    return changed
