"""Privacy factories (factory_boy): entries of the personal-data log (contacts, the people whose
data chamber staff export and erase, come from ``tests.directory.factories.ContactFactory``).

    PrivacyLogEntryFactory(actor=admin, action=PrivacyLogEntry.Action.ERASE_CONTACT, ...)

Exporting or erasing for real goes through ``maillage.privacy.services``.
"""

from __future__ import annotations

import factory

from maillage.privacy.models import PrivacyLogEntry
from tests.factories import UserFactory


class PrivacyLogEntryFactory(factory.django.DjangoModelFactory):
    """An export of a user's data by that user (the log keeps the subject by id only)."""

    class Meta:
        model = PrivacyLogEntry

    actor = factory.SubFactory(UserFactory)
    action = PrivacyLogEntry.Action.EXPORT_USER
    subject_id = factory.SelfAttribute("actor.pk")
