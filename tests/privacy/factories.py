"""Privacy factories (factory_boy): contacts of an establishment (the people whose data chamber
staff export and erase) and entries of the personal-data log.

    contact = ContactFactory(establishment=e77)
    PrivacyLogEntryFactory(actor=admin, action=PrivacyLogEntry.Action.ERASE_CONTACT, ...)

Exporting or erasing for real goes through ``maillage.privacy.services``.
"""

from __future__ import annotations

import factory

from maillage.directory.models import Contact
from maillage.privacy.models import PrivacyLogEntry
from tests.factories import EstablishmentFactory, UserFactory


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    establishment = factory.SubFactory(EstablishmentFactory)
    first_name = "Anne"
    last_name = factory.Sequence(lambda n: f"Martin-{n}")
    role = "Responsable QHSE"
    email = factory.LazyAttribute(lambda o: f"{o.last_name.lower()}@example.test")


class PrivacyLogEntryFactory(factory.django.DjangoModelFactory):
    """An export of a user's data by that user (the log keeps the subject by id only)."""

    class Meta:
        model = PrivacyLogEntry

    actor = factory.SubFactory(UserFactory)
    action = PrivacyLogEntry.Action.EXPORT_USER
    subject_id = factory.SelfAttribute("actor.pk")
