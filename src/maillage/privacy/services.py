"""Export and erasure of a person's data (a user or an establishment's contact), through the
declarations of ``relations``. The callers (views, commands) check the policy first."""

from __future__ import annotations

from collections.abc import Callable

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.sessions.models import Session
from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.accounts.models import User
from maillage.directory.models import Contact
from maillage.events.models import Meeting, MeetingRequest
from maillage.notifications import notify
from maillage.privacy.models import PrivacyLogEntry
from maillage.privacy.notifications import ERASURE_REQUEST
from maillage.privacy.relations import (
    CONTACT_RELATIONS,
    USER_RELATIONS,
    Erase,
    Relation,
    model_and_field,
)
from maillage.synergies.models import Introduction

FORMAT = "maillage-donnees-personnelles/1"
# Never exported, whatever the relation: password hashes.
NEVER_EXPORTED = {"password"}


def pseudonym(user) -> str:
    """The stable name an erased account keeps: audit and business rows then read as this."""
    return f"utilisateur-efface-{user.pk}"


def is_erased(user) -> bool:
    return user.username == pseudonym(user)


# --- Export ------------------------------------------------------------------------------------


def _value(value):
    if isinstance(value, FieldFile):
        return value.name or ""
    return value


def _row(obj: models.Model, exclude=()) -> dict:
    """Every stored field of one row (foreign keys as ids), secrets left out."""
    skip = NEVER_EXPORTED | set(exclude)
    row = {}
    for f in obj._meta.concrete_fields:
        if f.name in skip:
            continue
        row[f.attname] = _value(f.value_from_object(obj))
    row["libelle"] = str(obj)
    return row


def _rows_of(relation: Relation, subject: models.Model) -> models.QuerySet | None:
    found = model_and_field(relation)
    if found is None:
        return None
    model, field = found
    if isinstance(subject, model):
        return getattr(subject, field).order_by("pk")
    return model._default_manager.filter(**{field: subject}).order_by("pk")


def _relations_export(relations, subject) -> dict:
    out = {}
    for relation in relations:
        if not relation.exported:
            continue
        rows = _rows_of(relation, subject)
        if rows is None:
            continue
        out[relation.key] = {
            "libelle": relation.label,
            "lignes": [_row(obj, relation.exclude) for obj in rows],
        }
    return out


def export_user(actor, subject: User) -> dict:
    """Everything held about ``subject``: identity, every declared relation, the meeting requests
    and meetings of their event registrations, their introductions' establishments' side, the
    sign-in attempts recorded under their login. Logged (ids only)."""
    registrations = list(subject.event_registrations.values_list("pk", flat=True))
    data = {
        "format": FORMAT,
        "genere_le": timezone.now(),
        "personne": "utilisateur",
        "identite": {
            **_row(subject),
            "role_libelle": subject.get_role_display(),
            "chambre": subject.chamber.name if subject.chamber is not None else None,
        },
        "relations": _relations_export(USER_RELATIONS, subject),
        "demandes_de_rendez_vous": [
            _row(m)
            for m in MeetingRequest.objects.filter(
                models.Q(requester__in=registrations) | models.Q(target__in=registrations)
            ).order_by("pk")
        ],
        "rendez_vous": [
            _row(m)
            for m in Meeting.objects.filter(
                models.Q(a__in=registrations) | models.Q(b__in=registrations)
            ).order_by("pk")
        ],
        "mises_en_relation_de_mes_etablissements": [
            _row(i)
            for i in Introduction.objects.filter(establishment__users=subject).order_by("pk")
        ],
        "tentatives_de_connexion": _login_attempts(subject.username),
        "sessions_ouvertes": len(_session_keys(subject)),
    }
    _log(actor, PrivacyLogEntry.Action.EXPORT_USER, subject.pk, chamber_id=subject.chamber_id)
    return data


def export_contact(actor, contact: Contact) -> dict:
    establishment = contact.establishment
    data = {
        "format": FORMAT,
        "genere_le": timezone.now(),
        "personne": "contact",
        "identite": _row(contact),
        "etablissement": {
            "id": establishment.pk,
            "nom": establishment.name,
            "siret": establishment.siret,
        },
        "relations": _relations_export(CONTACT_RELATIONS, contact),
    }
    _log(
        actor,
        PrivacyLogEntry.Action.EXPORT_CONTACT,
        contact.pk,
        chamber_id=_chamber_id(establishment),
        establishment_id=establishment.pk,
    )
    return data


# --- Erasure -----------------------------------------------------------------------------------


def _anonymise_export_advisors(rows: models.QuerySet, name: str) -> None:
    rows.update(name=name, organisation="", phone="", availability_note="", bio="", available=False)


# How each ANONYMISE relation empties its rows (a test checks every one has an entry).
ANONYMISERS: dict[str, Callable[[models.QuerySet, str], None]] = {
    "directory.ExportAdvisor.user": _anonymise_export_advisors,
}


def _apply(relation: Relation, subject: models.Model, name: str) -> None:
    found = model_and_field(relation)
    if found is None or relation.erase == Erase.KEEP:
        return
    model, field = found
    if relation.erase == Erase.UNLINK:
        if isinstance(subject, model):
            getattr(subject, field).clear()
        else:
            m2m = model._meta.get_field(field)
            assert isinstance(m2m, models.ManyToManyField)  # UNLINK names many-to-manys only
            through = m2m.remote_field.through
            assert through is not None  # a model once the apps are loaded
            through._default_manager.filter(**{m2m.m2m_reverse_field_name(): subject.pk}).delete()
        return
    rows = model._default_manager.filter(**{field: subject})
    if relation.erase == Erase.DELETE:
        rows.delete()
    else:
        ANONYMISERS[relation.key](rows, name)


@transaction.atomic
def erase_user(actor, subject: User) -> None:
    """Anonymise ``subject``: the login becomes the pseudonym, names and e-mail are emptied, the
    password is unusable, the account inactive; tokens, sessions, notifications, preferences and
    sign-in attempts are deleted; audit and business rows stay, pointing at the pseudonym."""
    name = pseudonym(subject)
    old_username = subject.username
    for relation in USER_RELATIONS:
        _apply(relation, subject, name)
    Session.objects.filter(session_key__in=_session_keys(subject)).delete()
    _delete_login_attempts(old_username)
    subject.username = name
    subject.first_name = subject.last_name = subject.email = ""
    subject.set_unusable_password()
    subject.is_active = subject.is_staff = subject.is_superuser = False
    subject.save()
    _log(actor, PrivacyLogEntry.Action.ERASE_USER, subject.pk, chamber_id=subject.chamber_id)


@transaction.atomic
def erase_contact(actor, contact: Contact) -> None:
    """Delete the contact (its name, role, e-mail and phone); the establishment and all its
    business data stay."""
    establishment = contact.establishment
    pk = contact.pk
    for relation in CONTACT_RELATIONS:
        _apply(relation, contact, "")
    contact.delete()
    _log(
        actor,
        PrivacyLogEntry.Action.ERASE_CONTACT,
        pk,
        chamber_id=_chamber_id(establishment),
        establishment_id=establishment.pk,
    )


def erasure_request_recipients(subject: User) -> list[User]:
    """Who handles a chamber staff member's request to erase their account: the other
    administrators of their chamber, else the platform administrators."""
    admins = (
        User.objects.none()
        if subject.chamber_id is None
        else User.objects.filter(
            role=User.Role.CHAMBER_ADMIN, chamber_id=subject.chamber_id, is_active=True
        ).exclude(pk=subject.pk)
    )
    if not admins.exists():
        admins = User.objects.filter(is_superuser=True, is_active=True).exclude(pk=subject.pk)
    return list(admins.order_by("pk"))


@transaction.atomic
def request_erasure(subject: User) -> int:
    """Tell the recipients that ``subject`` asks for the erasure of their account; returns how
    many were notified."""
    recipients = erasure_request_recipients(subject)
    notify(
        recipients,
        ERASURE_REQUEST,
        title=_("Demande d'effacement d'un compte"),
        body=_(
            "Un utilisateur de votre chambre demande l'effacement de son compte et de ses "
            "données personnelles (droit à l'effacement, RGPD art. 17). Traitez la demande "
            "dans un délai d'un mois."
        ),
        url=reverse("privacy-user-erase", args=[subject.pk]),
    )
    _log(
        subject, PrivacyLogEntry.Action.ERASURE_REQUESTED, subject.pk, chamber_id=subject.chamber_id
    )
    return len(recipients)


# --- Helpers -----------------------------------------------------------------------------------


def _chamber_id(establishment) -> int | None:
    territory = getattr(establishment.commune, "territory", None)
    return territory.chamber_id if territory else None


def _log(actor, action, subject_id, *, chamber_id=None, establishment_id=None) -> None:
    PrivacyLogEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        subject_id=subject_id,
        chamber_id=chamber_id,
        establishment_id=establishment_id,
    )


def _session_keys(user) -> list[str]:
    """Open sessions of ``user`` (the session table does not index its user: decoded here)."""
    keys = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            keys.append(session.session_key)
    return keys


def _axes_models() -> list[type[models.Model]]:
    return [AccessAttempt, AccessFailureLog, AccessLog]


def _login_attempts(username: str) -> list[dict]:
    return [
        _row(row)
        for model in _axes_models()
        for row in model._default_manager.filter(username=username).order_by("pk")
    ]


def _delete_login_attempts(username: str) -> None:
    for model in _axes_models():
        model._default_manager.filter(username=username).delete()
