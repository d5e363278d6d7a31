"""What Maillage holds about a person, relation by relation: every foreign key and many-to-many
that points at a user or at a contact is declared here with what an export shows of it and what
an erasure does to it. ``undeclared_relations`` lists those that are not (a test fails on any), so
that a new model pointing at a person cannot be forgotten by the export or the erasure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.apps import apps
from django.db import models


class Erase(StrEnum):
    DELETE = "delete"  # the rows are the person's own and mean nothing without them
    UNLINK = "unlink"  # a many-to-many link: removed, the other side stays
    ANONYMISE = "anonymise"  # the row stays (others rely on it), its personal fields are emptied
    KEEP = "keep"  # business data of an establishment or a chamber: it now points at the pseudonym


@dataclass(frozen=True)
class Relation:
    key: str  # "app_label.Model.field" (for a many-to-many declared on User: "accounts.User.field")
    label: str  # what the export calls it (French)
    erase: Erase
    reason: str  # why this erasure rule (English, for the register and reviewers)
    exclude: tuple[str, ...] = ()  # fields never exported (secrets)
    exported: bool = True
    optional: bool = False  # the model belongs to an app that may not be installed


# Fields exported for the personal-data parts of an ExportAdvisor and emptied on erasure.
EXPORT_ADVISOR_PERSONAL_FIELDS = ("organisation", "phone", "availability_note", "bio")

USER_RELATIONS: tuple[Relation, ...] = (
    Relation(
        "accounts.User.establishments",
        "Établissements représentés",
        Erase.UNLINK,
        "the establishment is business data; an erased person no longer represents it",
    ),
    Relation(
        "accounts.User.groups",
        "Groupes de droits",
        Erase.UNLINK,
        "rights of an account that can no longer sign in",
    ),
    Relation(
        "accounts.User.user_permissions",
        "Droits d'administration",
        Erase.UNLINK,
        "rights of an account that can no longer sign in",
    ),
    Relation(
        "accounts.ApiToken.user",
        "Jetons d'API (métadonnées)",
        Erase.DELETE,
        "personal credentials",
        exclude=("digest",),
    ),
    Relation(
        "accounts.AuditLog.user",
        "Journal d'accès (actions dont vous êtes l'auteur)",
        Erase.KEEP,
        "accountability of staff towards companies; purged after the audit retention period",
    ),
    Relation(
        "admin.LogEntry.user",
        "Journal du back-office (actions dont vous êtes l'auteur)",
        Erase.KEEP,
        "accountability of platform staff; purged after the audit retention period",
    ),
    Relation(
        "privacy.PrivacyLogEntry.actor",
        "Journal des données personnelles (opérations dont vous êtes l'auteur)",
        Erase.KEEP,
        "proof that rights were exercised; holds ids only",
    ),
    Relation(
        "notifications.Notification.user",
        "Notifications",
        Erase.DELETE,
        "messages to the person only",
    ),
    Relation(
        "notifications.NotificationPreference.user",
        "Préférences de notification",
        Erase.DELETE,
        "the person's own choices",
    ),
    Relation(
        "networks.Network.animators",
        "Réseaux animés",
        Erase.UNLINK,
        "the network stays; an erased person no longer animates it",
    ),
    Relation(
        "directory.Cluster.managers",
        "Pôles de compétitivité dont vous êtes le contact",
        Erase.UNLINK,
        "the cluster stays; an erased person is no longer its contact",
    ),
    Relation(
        "directory.ExportAdvisor.user",
        "Fiche de conseiller du commerce extérieur",
        Erase.ANONYMISE,
        "SMEs' contact requests point at it; name and contact details are emptied",
    ),
    Relation(
        "directory.ExportContactRequest.requested_by",
        "Demandes de contact export envoyées",
        Erase.KEEP,
        "the establishment's export project and the addressee's answer",
    ),
    Relation(
        "directory.ExportContactRequest.answered_by",
        "Demandes de contact export auxquelles vous avez répondu",
        Erase.KEEP,
        "the SME's request and its answer",
    ),
    Relation(
        "flows.Visit.advisor",
        "Visites d'entreprises réalisées",
        Erase.KEEP,
        "the chamber's record of the establishment's visit and its flows",
    ),
    Relation(
        "flows.FlowRevision.user",
        "Modifications de flux",
        Erase.KEEP,
        "history of the establishment's flows",
    ),
    Relation(
        "synergies.SuggestionEvent.user",
        "Étapes de synergies",
        Erase.KEEP,
        "history of a synergy between establishments",
    ),
    Relation(
        "synergies.Introduction.proposed_by",
        "Mises en relation proposées",
        Erase.KEEP,
        "an introduction between establishments",
    ),
    Relation(
        "synergies.Introduction.responded_by",
        "Mises en relation auxquelles vous avez répondu",
        Erase.KEEP,
        "the establishment's answer to an introduction",
    ),
    Relation(
        "synergies.DetectionRun.requested_by",
        "Détections de synergies lancées",
        Erase.KEEP,
        "the chamber's detection runs",
    ),
    Relation(
        "marketplace.Need.created_by",
        "Besoins publiés",
        Erase.KEEP,
        "the buyer establishment's need and the responses to it",
    ),
    Relation(
        "marketplace.Lot.decided_by",
        "Lots attribués",
        Erase.KEEP,
        "the buyer's award decision",
    ),
    Relation(
        "marketplace.NeedEvent.by",
        "Étapes de besoins",
        Erase.KEEP,
        "history of a need",
    ),
    Relation(
        "marketplace.Response.author",
        "Réponses à des besoins",
        Erase.KEEP,
        "the supplier establishment's response",
    ),
    Relation(
        "marketplace.ResponseVersion.author",
        "Versions de réponses",
        Erase.KEEP,
        "history of a supplier's response",
    ),
    Relation(
        "marketplace.Attachment.uploaded_by",
        "Pièces jointes déposées",
        Erase.KEEP,
        "documents of a need or a response",
    ),
    Relation(
        "marketplace.Match.invited_by",
        "Fournisseurs invités",
        Erase.KEEP,
        "the buyer's invitation of a supplier",
    ),
    Relation(
        "events.Registration.user",
        "Inscriptions à des événements",
        Erase.KEEP,
        "the establishment's participation and meetings; the account is anonymised",
    ),
    Relation(
        "ingest.ImportRun.requested_by",
        "Imports de fichiers confirmés",
        Erase.KEEP,
        "the chamber's import history (what was written, when)",
    ),
    Relation(
        "events.ScheduleRun.requested_by",
        "Plannings de rendez-vous calculés",
        Erase.KEEP,
        "the event's schedule",
    ),
    Relation(
        "networks.NetworkPost.author",
        "Actualités de réseaux publiées",
        Erase.KEEP,
        "the network's news",
    ),
    Relation(
        "networks.NetworkDocument.uploaded_by",
        "Documents de réseaux déposés",
        Erase.KEEP,
        "the network's documents",
    ),
    # Second factor (django-otp), when installed: the device's secret key never leaves.
    Relation(
        "otp_totp.TOTPDevice.user",
        "Appareils de double authentification",
        Erase.DELETE,
        "personal credentials",
        exclude=("key",),
        optional=True,
    ),
    Relation(
        "otp_static.StaticDevice.user",
        "Codes de secours de double authentification",
        Erase.DELETE,
        "personal credentials",
        optional=True,
    ),
)

# A contact has no relation of its own today; one added later must be declared here.
CONTACT_RELATIONS: tuple[Relation, ...] = ()


def model_and_field(relation: Relation) -> tuple[type[models.Model], str] | None:
    """The model holding the relation and the field's name; None for an optional app's model
    that is not installed."""
    app_label, model_name, field = relation.key.split(".")
    try:
        return apps.get_model(app_label, model_name), field
    except LookupError:
        if relation.optional:
            return None
        raise


def relation_keys(model: type[models.Model]) -> set[str]:
    """Every relation pointing at ``model`` (reverse foreign keys, one-to-ones and many-to-manys,
    hidden ones included) and the many-to-manys it declares, as "app_label.Model.field"."""
    keys = set()
    for f in model._meta.get_fields(include_hidden=True):
        if not f.is_relation:
            continue
        if f.auto_created and not f.concrete and isinstance(f, models.ForeignObjectRel):
            related = f.field.model  # the model declaring the relation
            if related._meta.auto_created:
                continue  # the table behind a many-to-many, declared by the many-to-many itself
            keys.add(f"{related._meta.label}.{f.field.name}")
        elif f.many_to_many:
            keys.add(f"{model._meta.label}.{f.name}")
    return keys


def undeclared_relations(model: type[models.Model], declared: tuple[Relation, ...]) -> set[str]:
    return relation_keys(model) - {r.key for r in declared}
