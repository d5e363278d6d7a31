"""Who sees which establishments and raw flows: chambers, agreements, companies, anonymous."""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser

from maillage.accounts import policy as accounts_policy
from maillage.accounts.models import DataSharingAgreement, User
from maillage.directory import policy as directory_policy
from maillage.flows import policy as flows_policy
from tests.factories import FlowFactory
from tests.networks.factories import MembershipFactory, NetworkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def flows(territory):
    out = {}
    for key in ("e77", "e91", "e78"):
        flow = FlowFactory(
            establishment=territory[key],
            direction="offer",
            waste_code="15 01 03",
            quantity=12,
            unit="t",
            period="year",
        )
        out[key] = flow
    return out


def ids(qs):
    return set(qs.values_list("pk", flat=True))


def test_advisor_sees_own_chamber_and_partner_with_agreement(territory, flows):
    adv77 = territory["advisor77"]
    assert ids(flows_policy.visible_flows(adv77)) == {flows["e77"].pk, flows["e91"].pk}
    assert flows_policy.can_view_flows(adv77, territory["e91"])
    assert not flows_policy.can_view_flows(adv77, territory["e78"])
    assert ids(directory_policy.visible_establishments(adv77)) == {
        territory["e77"].pk,
        territory["e91"].pk,
    }


def test_advisor_without_agreement_sees_only_own_chamber(territory, flows):
    adv78 = territory["advisor78"]
    assert ids(flows_policy.visible_flows(adv78)) == {flows["e78"].pk}
    assert not flows_policy.can_view_flows(adv78, territory["e77"])
    assert not directory_policy.can_view_establishment(adv78, territory["e91"])


def test_no_flows_without_the_agreement(territory, flows):
    territory["agreement"].delete()
    adv77 = territory["advisor77"]
    assert ids(flows_policy.visible_flows(adv77)) == {flows["e77"].pk}
    assert not flows_policy.can_view_flows(adv77, territory["e91"])


def test_expired_or_future_agreement_does_not_count(territory, flows):
    agreement = territory["agreement"]
    agreement.end = datetime.date(2024, 6, 30)
    agreement.save()
    assert not flows_policy.can_view_flows(territory["advisor77"], territory["e91"])
    agreement.start, agreement.end = datetime.date(2099, 1, 1), None
    agreement.save()
    assert not flows_policy.can_view_flows(territory["advisor91"], territory["e77"])


def test_matching_scope_shares_identity_but_not_flows(territory, flows):
    agreement = territory["agreement"]
    agreement.scope = DataSharingAgreement.Scope.MATCHING
    agreement.save()
    adv77 = territory["advisor77"]
    assert directory_policy.can_view_establishment(adv77, territory["e91"])
    assert not flows_policy.can_view_flows(adv77, territory["e91"])
    assert ids(flows_policy.visible_flows(adv77)) == {flows["e77"].pk}


def test_partner_advisor_reads_but_does_not_edit(territory):
    assert flows_policy.can_view_flows(territory["advisor91"], territory["e77"])
    assert not flows_policy.can_edit_flows(territory["advisor91"], territory["e77"])
    assert flows_policy.can_edit_flows(territory["advisor77"], territory["e77"])


def test_company_sees_only_its_own(territory, flows):
    co = territory["company77"]
    assert ids(flows_policy.visible_flows(co)) == {flows["e77"].pk}
    assert ids(directory_policy.visible_establishments(co)) == {territory["e77"].pk}
    assert not flows_policy.can_view_flows(co, territory["e91"])
    assert flows_policy.can_edit_flows(co, territory["e77"])
    assert not flows_policy.can_edit_flows(co, territory["e78"])


def test_anonymous_and_animator_see_no_flows(territory, flows, make_user):
    anon = AnonymousUser()
    assert not flows_policy.visible_flows(anon).exists()
    assert not directory_policy.visible_establishments(anon).exists()
    assert not flows_policy.can_view_flows(anon, territory["e77"])
    animator = make_user("anim", User.Role.ANIMATOR)
    assert not flows_policy.visible_flows(animator).exists()
    assert not directory_policy.visible_establishments(animator).exists()


def test_animator_sees_members_of_animated_network_only(territory, make_user):

    club = NetworkFactory(name="Club test")
    MembershipFactory(network=club, establishment=territory["e78"], since=datetime.date(2020, 1, 1))
    animator = make_user("anim", User.Role.ANIMATOR)
    club.animators.add(animator)
    assert ids(directory_policy.visible_establishments(animator)) == {territory["e78"].pk}
    assert not flows_policy.can_view_flows(animator, territory["e78"])


def test_chamber_admin_sees_own_chamber_users_only(territory):
    visible = set(
        accounts_policy.visible_users(territory["admin78"]).values_list("username", flat=True)
    )
    assert visible == {"adv78", "adm78", "co78"}
