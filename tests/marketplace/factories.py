"""Marketplace factories (factory_boy): needs and their history, lots, responses and their
attachments, groups of co-contractors and supplier profiles, with valid defaults built on ``tests.factories``.

    need = NeedFactory(buyer=e77, status=Need.Status.PUBLISHED, hide_buyer=True)
    response = ResponseFactory(need=need, supplier=e91, shortlisted_at=timezone.now())
    group = ConsortiumFactory(need=need, lead=e91, members=[e91, e78])

Rows are written as they stand (no notification, no matching): tests of the services' effects
go through ``maillage.marketplace.services``.
"""

from __future__ import annotations

import datetime

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from maillage.marketplace.models import (
    Attachment,
    Consortium,
    Lot,
    Need,
    NeedEvent,
    Response,
    SupplierProfile,
)
from maillage.marketplace.services import profile_search_text
from tests.factories import EstablishmentFactory


class SupplierProfileFactory(factory.django.DjangoModelFactory):
    """An active profile in the sourcing directory, with its search text computed (unless
    ``search_text`` is given)."""

    class Meta:
        model = SupplierProfile

    establishment = factory.SubFactory(EstablishmentFactory)
    capabilities = "Usinage de pièces mécaniques, tournage et fraisage CN."
    categories = "mechanics"
    service_radius_km = 60
    is_active = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        profile = model_class(*args, **kwargs)
        profile.search_text = profile.search_text or profile_search_text(profile)
        profile.save()
        return profile


class NeedFactory(factory.django.DjangoModelFactory):
    """A purchasing need open to the whole platform; a draft unless ``status`` says otherwise
    (``published_at`` follows the status)."""

    class Meta:
        model = Need

    buyer = factory.SubFactory(EstablishmentFactory)
    theme = Need.Theme.PURCHASING
    kind = Need.Kind.SERVICE
    title = factory.Sequence(lambda n: f"Usinage de pièces de rechange n°{n}")
    description = "Nous cherchons un atelier pour tourner et fraiser des pièces mécaniques."
    category = "mechanics"
    visibility = Need.Visibility.PLATFORM
    status = Need.Status.DRAFT
    closes_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=30))
    published_at = factory.LazyAttribute(
        lambda o: None if o.status == Need.Status.DRAFT else timezone.now()
    )


class LotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lot

    need = factory.SubFactory(NeedFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.LazyAttribute(lambda o: f"Lot {o.number}")


class ConsortiumFactory(factory.django.DjangoModelFactory):
    """A group of co-contractors; ``members`` (the lead included) default to the lead alone."""

    class Meta:
        model = Consortium
        skip_postgeneration_save = True

    need = factory.SubFactory(NeedFactory)
    lead = factory.SubFactory(EstablishmentFactory)

    @factory.post_generation
    def members(consortium, create, value, **kwargs):
        if create:
            consortium.members.set(value if value is not None else [consortium.lead])


class ResponseFactory(factory.django.DjangoModelFactory):
    """A response to the whole need (``lot`` for one lot; ``consortium`` for a group's)."""

    class Meta:
        model = Response

    need = factory.SubFactory(NeedFactory, status=Need.Status.PUBLISHED)
    supplier = factory.SubFactory(EstablishmentFactory)
    message = "Nous pouvons réaliser ces pièces sous trois semaines."


class NeedEventFactory(factory.django.DjangoModelFactory):
    """A line of a need's history, written as it stands (``services.transition`` checks it)."""

    class Meta:
        model = NeedEvent

    need = factory.SubFactory(NeedFactory)
    from_status = Need.Status.DRAFT
    to_status = Need.Status.PUBLISHED


class AttachmentFactory(factory.django.DjangoModelFactory):
    """A small PDF joined to a need (``response=`` for a supplier's), stored under MEDIA_ROOT."""

    class Meta:
        model = Attachment

    need = factory.SubFactory(NeedFactory)
    name = "cahier-des-charges.pdf"
    file = factory.LazyAttribute(lambda o: SimpleUploadedFile(o.name, b"%PDF-1.4 test"))
