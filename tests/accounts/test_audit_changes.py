"""Issue 17.11: every change made by staff to a company's data is in the audit log (flows,
establishment, synergy status); a company changing its own data is not logged there."""

from __future__ import annotations

import pytest

from maillage.accounts.models import AuditLog
from maillage.directory import services as directory
from maillage.flows import services as flows
from maillage.flows.services import build_flow, snapshot_of
from maillage.synergies import services as synergies
from maillage.synergies.models import Suggestion
from tests.flows.factories import wood_synergy

pytestmark = pytest.mark.django_db

CHANGES = {
    AuditLog.Action.CHANGE_FLOWS,
    AuditLog.Action.CHANGE_ESTABLISHMENT,
    AuditLog.Action.CHANGE_SYNERGY,
}


def entries():
    return list(
        AuditLog.objects.filter(action__in=CHANGES)
        .order_by("pk")
        .values_list("user__username", "action", "establishment_id", "detail")
    )


def test_an_advisor_editing_a_companys_flows_is_audited(territory):
    advisor, e77 = territory["advisor77"], territory["e77"]
    flow = flows.create_flow(
        advisor, build_flow(e77, direction="offer", waste_code="03 01 05", quantity=10, unit="t")
    )
    before = snapshot_of(flow)
    flow.description = "Sciure de chêne"
    flows.update_flow(advisor, flow, before)
    flows.set_archived(advisor, flow, True)
    assert [(u, a, e) for u, a, e, _d in entries()] == [("adv77", "change_flows", e77.pk)] * 3
    details = [d for *_rest, d in entries()]
    assert details[0] == f"flux {flow.pk} : create"
    assert details[1].startswith(f"flux {flow.pk} : update") and "description" in details[1]
    assert details[2] == f"flux {flow.pk} : archive"


def test_a_company_editing_its_own_flows_is_not_in_the_audit_log(territory):
    flows.create_flow(
        territory["company77"],
        build_flow(
            territory["e77"], direction="need", resource_class="wood_fuel", quantity=5, unit="t"
        ),
    )
    assert entries() == []


def test_an_advisor_editing_an_establishment_is_audited(territory):
    e77 = territory["e77"]
    changed = directory.update_establishment(
        territory["advisor77"], e77, {"name": "Scierie renommée"}
    )
    assert changed == ["name"]
    assert entries() == [("adv77", "change_establishment", e77.pk, "name")]
    # nothing changed, nothing logged; the company's own edit is not logged here
    directory.update_establishment(territory["advisor77"], e77, {"name": "Scierie renommée"})
    directory.update_establishment(territory["company77"], e77, {"name": "Scierie du patron"})
    assert len(entries()) == 1


def test_a_synergy_status_change_is_audited_for_both_parties(territory):
    _offer, need = wood_synergy(territory, offered=400, needed=500)
    synergies.detect()
    s = Suggestion.objects.get(kind=Suggestion.Kind.SUBSTITUTION, need_flow=need)
    synergies.change_status(s, territory["advisor77"], Suggestion.Status.PROPOSED, "Appel fait")
    logged = entries()
    assert sorted(e for _u, _a, e, _d in logged) == sorted(
        [territory["e77"].pk, territory["e91"].pk]
    )
    assert {(u, a, d) for u, a, _e, d in logged} == {
        ("adv77", "change_synergy", f"suggestion {s.pk} : detected → proposed")
    }
