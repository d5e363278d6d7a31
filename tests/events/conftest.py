"""Fixtures of the events tests: an event of chamber 77 with two seats and meetings, three
company users with e-mail addresses."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from maillage.accounts.models import User
from tests.events.factories import EventFactory, QuestionFactory


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def world(territory, make_user, make_establishment):
    c77 = territory["chambers"][0]
    start = timezone.now() + datetime.timedelta(days=1)
    event = EventFactory(
        title="Positive Business Place",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=4),
        place="Melun, salle des fêtes",
        capacity=2,
        chamber=c77,
        meetings_enabled=True,
        slot_count=4,
        table_count=2,
        max_meetings=3,
    )
    QuestionFactory(event=event, label="Régime alimentaire", required=True)
    e_b = make_establishment("77288", name="Menuiserie Test", naf="16.23Z")
    company_b = make_user("cob", User.Role.COMPANY, establishments=[e_b])
    e_c = make_establishment("77288", name="Carton Test", naf="17.21A")
    company_c = make_user("coc", User.Role.COMPANY, establishments=[e_c])
    for u in (territory["company77"], company_b, company_c):
        u.email = f"{u.username}@example.test"
        u.save()
    return {**territory, "event": event, "company_b": company_b, "company_c": company_c}


def answers(event):
    return {str(q.pk): "végétarien" for q in event.questions.all()}
