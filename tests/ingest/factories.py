"""Ingest factories (factory_boy): committed spreadsheet imports as the import page lists them.

    ImportRunFactory(requested_by=advisor, chamber=advisor.chamber, state="done", created=12)

Importing a file for real goes through ``maillage.ingest`` (``tests/ingest/test_spreadsheet.py``).
"""

from __future__ import annotations

import hashlib

import factory

from maillage.accounts.models import User
from maillage.ingest.models import ImportRun
from tests.factories import ChamberFactory, UserFactory


class ImportRunFactory(factory.django.DjangoModelFactory):
    """A pending import of establishments, asked by an advisor of the run's chamber."""

    class Meta:
        model = ImportRun

    chamber = factory.SubFactory(ChamberFactory)
    requested_by = factory.SubFactory(
        UserFactory, role=User.Role.ADVISOR, chamber=factory.SelfAttribute("..chamber")
    )
    kind = ImportRun.Kind.ESTABLISHMENTS
    file_name = factory.Sequence(lambda n: f"etablissements-{n}.xlsx")
    digest = factory.LazyAttribute(lambda o: hashlib.sha256(o.file_name.encode()).hexdigest())
