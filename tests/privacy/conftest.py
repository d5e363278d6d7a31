"""Privacy fixtures: chamber 77 with an administrator, a contact of its establishment and a
company user with data in many places (token, notifications, audit, export request, event)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from maillage import notifications
from maillage.accounts.models import User
from maillage.accounts.tokens import create_token
from maillage.directory.services import request_export_contact
from maillage.marketplace.notifications import NEW_NEED
from maillage.networks.notifications import NETWORK_NEWS
from tests.accounts.factories import AuditLogFactory
from tests.directory.factories import (
    ClusterFactory,
    ContactFactory,
    ExportAdvisorFactory,
    ExportProjectFactory,
)
from tests.events.factories import EventFactory, MeetingRequestFactory, RegistrationFactory
from tests.factories import FlowFactory
from tests.flows.factories import VisitFactory
from tests.networks.factories import NetworkFactory


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def people(territory, make_user, make_establishment):
    t = territory
    c77 = t["chambers"][0]
    e77 = t["e77"]
    admin77 = make_user("adm77", User.Role.CHAMBER_ADMIN, c77)
    company = t["company77"]
    company.first_name, company.last_name, company.email = "Léa", "Durand", "lea@scierie.test"
    company.save()
    contact = ContactFactory(
        establishment=e77,
        first_name="Anne",
        last_name="Martin",
        role="Responsable QHSE",
        email="anne.martin@scierie.test",
        phone="01 60 00 00 00",
    )
    visit = VisitFactory(establishment=e77, advisor=t["advisor77"], date="2025-03-01")
    flow = FlowFactory(
        establishment=e77,
        direction="offer",
        waste_code="03 01 05",
        quantity=120,
        unit="t",
        visit=visit,
    )
    create_token(company, "Mon ERP", days=30)
    notifications.notify([company], NETWORK_NEWS, title="Actualité du club", body="…", url="/")
    company.notification_preferences.create(kind=NEW_NEED, frequency="daily")
    AuditLogFactory(user=t["advisor77"], establishment=e77, action="view_flows")
    cce_user = make_user("cce", User.Role.EXPORT_ADVISOR)
    cce = ExportAdvisorFactory(
        user=cce_user, name="Karim Benali", phone="06 00 00 00 00", countries=["MA"]
    )
    ExportProjectFactory(establishment=e77, countries=["MA"], sectors=["agrifood"])
    export_request = request_export_contact(company, e77, advisor=cce, message="Salon au Maroc")
    club = NetworkFactory(name="Club 77", chamber=c77)
    club.animators.add(company)
    ClusterFactory(name="Pôle Bois", managers=[company])
    start = timezone.now() + datetime.timedelta(days=3)
    event = EventFactory(
        title="Rencontres 77",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
        place="Melun",
        capacity=10,
        chamber=c77,
        meetings_enabled=True,
    )
    other_est = make_establishment("77288", name="Menuiserie Test", naf="16.23Z")
    other = make_user("cob", User.Role.COMPANY, establishments=[other_est])
    mine = RegistrationFactory(
        event=event, user=company, establishment=e77, status="confirmed", offers="Sciure"
    )
    theirs = RegistrationFactory(
        event=event, user=other, establishment=other_est, status="confirmed"
    )
    meeting_request = MeetingRequestFactory(
        event=event,
        requester=mine,
        target=theirs,
        message="Parlons sciure",
        expires_at=start,
    )
    return {
        **t,
        "admin77": admin77,
        "company": company,
        "contact": contact,
        "visit": visit,
        "flow": flow,
        "cce": cce,
        "export_request": export_request,
        "registration": mine,
        "meeting_request": meeting_request,
    }
