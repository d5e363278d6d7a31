"""The one notification registry of Maillage (marketplace, events, networks): every kind of message
users can receive, its French label, and how it is delivered (in the app always; by e-mail at once,
in a daily digest or never, per the user's choice for that kind, with a default per kind).

The rows are the marketplace app's ``Notification`` and ``NotificationPreference`` models (they
stay there so that no data moves); every app notifies through ``notify`` below."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from maillage.marketplace.models import Notification, NotificationPreference

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

Frequency = NotificationPreference.Frequency

logger = logging.getLogger(__name__)


# Sections of the preferences page, in display order.
MARKETPLACE = gettext_lazy("Marché : besoins et réponses")
EVENTS = gettext_lazy("Événements et rendez-vous d'affaires")
NETWORKS = gettext_lazy("Réseaux")
EXPORT = gettext_lazy("International")
SYNERGIES = gettext_lazy("Synergies entre entreprises")
ACCOUNT = gettext_lazy("Comptes et données personnelles")


@dataclass(frozen=True)
class Kind:
    code: str
    label: StrOrPromise
    default: str = Frequency.IMMEDIATE
    section: StrOrPromise = MARKETPLACE


NEW_NEED = "new_need"
NEW_RESPONSE = "new_response"
SHORTLISTED = "shortlisted"
OUTCOME = "need_outcome"
LOT_AWARD = "lot_award"
CONSORTIUM_RESPONSE = "consortium_response"
NEED_EXPIRED = "need_expired"
REMINDER = "closing_reminder"
EVENT_REGISTRATION = "event_registration"
EVENT_PROMOTED = "event_promoted"
EVENT_REMINDER = "event_reminder"
MEETING_REQUEST = "meeting_request"
MEETING_ANSWER = "meeting_answer"
MEETING_SCHEDULE = "meeting_schedule"
NETWORK_NEWS = "network_news"
# Export support (directory app): a contact request to an export advisor or a cluster, its answer.
EXPORT_REQUEST = "export_request"
EXPORT_ANSWER = "export_answer"
EXPORT_EXPIRED = "export_expired"
# Synergies (synergies app): an advisor proposes an introduction; both sides accepted it.
INTRODUCTION_PROPOSED = "introduction_proposed"
INTRODUCTION_MUTUAL = "introduction_mutual"
# Privacy (privacy app): a chamber staff member asks for the erasure of their account.
ERASURE_REQUEST = "erasure_request"

REGISTRY: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind(NEW_NEED, gettext_lazy("Nouveau besoin correspondant à mon activité")),
        Kind(NEW_RESPONSE, gettext_lazy("Nouvelle réponse à l'un de mes besoins")),
        Kind(SHORTLISTED, gettext_lazy("Ma réponse est présélectionnée")),
        Kind(OUTCOME, gettext_lazy("Issue d'un besoin auquel j'ai répondu")),
        Kind(
            LOT_AWARD,
            gettext_lazy("Attribution d'un lot (auquel j'ai répondu, ou de mon besoin)"),
        ),
        Kind(
            CONSORTIUM_RESPONSE,
            gettext_lazy("Réponse déposée par un groupement dont je fais partie"),
        ),
        Kind(NEED_EXPIRED, gettext_lazy("Mon besoin est clos à sa date de clôture")),
        Kind(REMINDER, gettext_lazy("Rappel avant la clôture d'un besoin sans réponse de ma part")),
        Kind(
            EVENT_REGISTRATION,
            gettext_lazy("Confirmation de mon inscription à un événement (ou liste d'attente)"),
            section=EVENTS,
        ),
        Kind(
            EVENT_PROMOTED,
            gettext_lazy("Une place s'est libérée : je sors de la liste d'attente"),
            section=EVENTS,
        ),
        Kind(EVENT_REMINDER, gettext_lazy("Rappel avant un événement"), section=EVENTS),
        Kind(MEETING_REQUEST, gettext_lazy("Demande de rendez-vous d'affaires"), section=EVENTS),
        Kind(
            MEETING_ANSWER,
            gettext_lazy("Réponse à ma demande de rendez-vous d'affaires"),
            section=EVENTS,
        ),
        Kind(
            MEETING_SCHEDULE,
            gettext_lazy("Planning de mes rendez-vous publié ou modifié"),
            section=EVENTS,
        ),
        Kind(
            NETWORK_NEWS,
            gettext_lazy("Actualités et documents de mes réseaux"),
            default=Frequency.DAILY,
            section=NETWORKS,
        ),
        Kind(
            EXPORT_REQUEST,
            gettext_lazy("Demande de contact export adressée à moi ou à mon pôle"),
            section=EXPORT,
        ),
        Kind(
            EXPORT_ANSWER,
            gettext_lazy("Réponse à ma demande de contact export (conseiller ou pôle)"),
            section=EXPORT,
        ),
        Kind(
            EXPORT_EXPIRED,
            gettext_lazy("Demande de contact export close faute de réponse"),
            section=EXPORT,
        ),
        Kind(
            INTRODUCTION_PROPOSED,
            gettext_lazy("Proposition de mise en relation pour une synergie"),
            section=SYNERGIES,
        ),
        Kind(
            INTRODUCTION_MUTUAL,
            gettext_lazy("Mise en relation acceptée par les deux entreprises"),
            section=SYNERGIES,
        ),
        Kind(
            ERASURE_REQUEST,
            gettext_lazy("Demande d'effacement d'un compte de ma chambre"),
            section=ACCOUNT,
        ),
    )
}


def frequency_for(user, kind: str) -> str:
    pref = (
        NotificationPreference.objects.filter(user=user, kind=kind)
        .values_list("frequency", flat=True)
        .first()
    )
    return pref or REGISTRY[kind].default


def frequencies_for(users, kind: str) -> dict[int, str]:
    """The chosen frequency of each user for one kind (one query)."""
    chosen = dict(
        NotificationPreference.objects.filter(user__in=users, kind=kind).values_list(
            "user_id", "frequency"
        )
    )
    return {u.pk: chosen.get(u.pk, REGISTRY[kind].default) for u in users}


def notify(
    users, kind: str, *, title: str, body: str, url: str, need=None, lot=None
) -> list[Notification]:
    """Notify each user: in the app (a row in the caller's transaction), and by e-mail once that
    transaction commits, or in the digest. Users who chose "never" for this kind get nothing.
    With a ``need``, at most once per (user, kind, need) whatever the calls — or, with a ``lot``
    of that need too, once per (user, kind, lot); without one (events, networks, export) the
    caller notifies once per occurrence. Returns the notifications created."""
    if kind not in REGISTRY:
        raise ValueError(f"unknown notification kind {kind!r}")
    users = list(users)
    frequencies = frequencies_for(users, kind)
    created = []
    for user in users:
        frequency = frequencies[user.pk]
        if frequency == Frequency.NEVER:
            continue
        try:
            with transaction.atomic():
                n = Notification.objects.create(
                    user=user,
                    kind=kind,
                    need=need,
                    lot=lot,
                    title=title,
                    body=body,
                    url=url,
                    email_due=bool(user.email),
                )
        except IntegrityError:
            continue  # already notified of this need: exactly one notification each
        if frequency == Frequency.IMMEDIATE and user.email:
            # The row belongs to the caller's transaction; the e-mail leaves only once it commits,
            # so that a rolled-back action sends nothing.
            transaction.on_commit(partial(_email_now, n, f"{body}\n\n{_absolute(url)}"))
        created.append(n)
    return created


def _email_now(n: Notification, text: str) -> None:
    """Send one committed notification's e-mail at once. The row is claimed first (a digest run at
    the same moment cannot send it too); if the mail server fails, it goes back to the daily
    digest rather than being lost, and the action that notified is not undone."""
    now = timezone.now()
    claimed = Notification.objects.filter(pk=n.pk, email_due=True, emailed_at__isnull=True).update(
        emailed_at=now, email_due=False
    )
    if not claimed:
        return
    try:
        _send(n.user.email, n.title, text)
    except OSError:  # smtplib.SMTPException and socket errors
        logger.exception("notification %s: e-mail not sent, left for the daily digest", n.pk)
        Notification.objects.filter(pk=n.pk).update(emailed_at=None, email_due=True)
        return
    n.emailed_at, n.email_due = now, False


def _absolute(url: str) -> str:
    """E-mails are read outside the site: their links carry its address (MAILLAGE_BASE_URL)."""
    if urlsplit(url).scheme:
        return url
    return settings.MAILLAGE_BASE_URL + "/" + url.lstrip("/")


def _send(to: str, subject: str, text: str) -> None:
    send_mail(f"[Maillage] {subject}", text, None, [to])


def send_digests(now=None) -> int:
    """One e-mail per user gathering the notifications waiting for the daily digest; returns the
    number of e-mails sent. Running it twice sends nothing the second time."""
    now = now or timezone.now()
    pending = (
        Notification.objects.filter(email_due=True, emailed_at__isnull=True)
        .select_related("user")
        .order_by("user_id", "created_at", "pk")
    )
    by_user: dict[int, list[Notification]] = {}
    for n in pending:
        by_user.setdefault(n.user_id, []).append(n)
    sent = 0
    for items in by_user.values():
        user = items[0].user
        if not user.email:
            continue
        lines = [f"- {n.title}\n  {_absolute(n.url)}" for n in items]
        _send(
            user.email,
            _("Votre résumé quotidien : %(n)d notification(s)") % {"n": len(items)},
            "\n".join(lines),
        )
        Notification.objects.filter(pk__in=[n.pk for n in items]).update(
            emailed_at=now, email_due=False
        )
        sent += 1
    return sent
