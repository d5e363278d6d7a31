"""Sending notifications: in the app always; by e-mail at once, in the daily digest or never, per
the user's choice for the kind (the kind's default otherwise)."""

from __future__ import annotations

import logging
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.notifications import registry
from maillage.notifications.models import Notification, NotificationPreference
from maillage.notifications.registry import Frequency

logger = logging.getLogger("maillage.notifications")


def frequency_for(user, kind: str) -> str:
    pref = (
        NotificationPreference.objects.filter(user=user, kind=kind)
        .values_list("frequency", flat=True)
        .first()
    )
    return pref or registry.get(kind).default


def frequencies_for(users, kind: str) -> dict[int, str]:
    """The chosen frequency of each user for one kind (one query)."""
    default = registry.get(kind).default
    chosen = dict(
        NotificationPreference.objects.filter(user__in=users, kind=kind).values_list(
            "user_id", "frequency"
        )
    )
    return {u.pk: chosen.get(u.pk, default) for u in users}


def notify(
    users, kind: str, *, title: str, body: str, url: str, dedup_key: str = ""
) -> list[Notification]:
    """Notify each user: in the app (a row in the caller's transaction), and by e-mail once that
    transaction commits, or in the digest. Users who chose "never" for this kind get nothing.
    With a ``dedup_key`` (``registry.subject_key(obj)``), at most once per (user, kind, key)
    whatever the calls; without one, once per call. Returns the notifications created."""
    registry.get(kind)  # an unknown kind is a programming error: ValueError
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
                    dedup_key=dedup_key,
                    title=title,
                    body=body,
                    url=url,
                    email_due=bool(user.email),
                )
        except IntegrityError:
            if not dedup_key:
                raise
            continue  # already notified of this object: exactly one notification each
        if frequency == Frequency.IMMEDIATE and user.email:
            # The row belongs to the caller's transaction; the e-mail leaves only once it commits,
            # so that a rolled-back action sends nothing.
            transaction.on_commit(partial(_email_now, n, f"{body}\n\n{absolute_url(url)}"))
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
        send_email(n.user.email, n.title, text)
    except OSError:  # smtplib.SMTPException and socket errors
        logger.exception("notification %s: e-mail not sent, left for the daily digest", n.pk)
        Notification.objects.filter(pk=n.pk).update(emailed_at=None, email_due=True)
        return
    n.emailed_at, n.email_due = now, False


def absolute_url(url: str) -> str:
    """E-mails are read outside the site: their links carry its address (MAILLAGE_BASE_URL)."""
    if urlsplit(url).scheme:
        return url
    return settings.MAILLAGE_BASE_URL + "/" + url.lstrip("/")


def send_email(to: str, subject: str, text: str) -> None:
    """One Maillage e-mail (subject prefixed), for notifications and for addresses without an
    account (a need's invited suppliers)."""
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
        lines = [f"- {n.title}\n  {absolute_url(n.url)}" for n in items]
        send_email(
            user.email,
            _("Votre résumé quotidien : %(n)d notification(s)") % {"n": len(items)},
            "\n".join(lines),
        )
        Notification.objects.filter(pk__in=[n.pk for n in items]).update(
            emailed_at=now, email_due=False
        )
        sent += 1
    return sent


def save_preferences(user, chosen: dict[str, str]) -> None:
    """Record the user's e-mail frequency for each kind in ``chosen`` (code → frequency)."""
    for kind, frequency in chosen.items():
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"frequency": frequency}
        )


def mark_all_read(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
