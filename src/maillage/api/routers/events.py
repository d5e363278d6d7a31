"""Events and my agenda, read-only. Who sees what: events.policy, as on the
web pages: the events open to me (``visible_events``), and my own agenda for one of them (my
registration, ``can_view_agenda``) — never another participant's agenda."""

from __future__ import annotations

import datetime

from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from maillage.api.pagination import Pages
from maillage.api.schemas import ERRORS, Error, Id
from maillage.events import policy as events_policy
from maillage.events import selectors

router = Router(tags=["événements"])


class EventOut(Schema):
    id: int
    title: str
    description: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    place: str
    capacity: int
    chamber: int | None = Field(None, alias="chamber_id")
    network: int | None = Field(None, alias="network_id")
    meetings_enabled: bool
    confirmed: int


class MeetingOut(Schema):
    slot: int
    start: datetime.datetime
    end: datetime.datetime
    table: int
    with_establishment: str
    with_commune: str
    offers: str
    seeks: str


class AgendaOut(Schema):
    event: int
    establishment: str
    status: str
    meetings: list[MeetingOut]


@router.get(
    "/events",
    response={200: list[EventOut], **ERRORS},
    summary="Événements qui me sont ouverts (chambre : tous les connectés ; réseau : ses membres)",
)
@paginate(Pages)
def list_events(request):
    return selectors.events_for(request.user)


@router.get(
    "/events/{event_id}/agenda",
    response={200: AgendaOut, 404: Error, **ERRORS},
    summary="Mon agenda de rendez-vous d'affaires pour un événement (mon inscription seulement)",
)
def my_agenda(request, event_id: Id):
    event = get_object_or_404(events_policy.visible_events(request.user), pk=event_id)
    reg = selectors.my_registration(request.user, event)
    if reg is None or not events_policy.can_view_agenda(request.user, reg):
        raise Http404
    return {
        "event": event.pk,
        "establishment": reg.establishment.name,
        "status": reg.status,
        "meetings": [
            {
                "slot": row["slot"],
                "start": row["start"],
                "end": row["end"],
                "table": row["meeting"].table,
                "with_establishment": row["other"].establishment.name,
                "with_commune": row["other"].establishment.commune.name,
                "offers": row["other"].offers,
                "seeks": row["other"].seeks,
            }
            for row in selectors.agenda(reg)
        ],
    }
