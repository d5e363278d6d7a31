"""The directory's rules, role by role (``maillage.directory.policy``): who sees, edits, imports
and exports establishments, and who sees, answers and withdraws an SME's export contact
requests. Each row is (role, rule, object, expected), roles named from establishment e77's point
of view (see ``tests.directory.factories.role_world``)."""

from __future__ import annotations

import datetime

import pytest

from maillage.accounts.models import DataSharingAgreement
from maillage.directory import policy
from maillage.directory.models import ExportContactRequest
from tests.directory.factories import (
    CHAMBER_STAFF,
    COMPANIES,
    ROLES,
    ExportContactRequestFactory,
    check_rule,
    role_world,
    rows,
)
from tests.worlds import built_once_per_module

pytestmark = pytest.mark.django_db

STAFF = CHAMBER_STAFF | {"platform"}
EXPORT_CONTACTS = {
    "export_advisor",
    "export_advisor_other",
    "cluster_manager",
    "cluster_manager_other",
}
# Whoever may edit e77: its own chamber's staff, its company user, platform staff.
E77_EDITORS = {"platform", "advisor_own", "admin_own", "company_own"}


def build_world():
    w = role_world()
    e = w.establishments
    pending = ExportContactRequestFactory(
        establishment=e["e77"],
        requested_by=w.users["company_own"],
        advisor=w.export_advisors["own"],
    )
    accepted = ExportContactRequestFactory(
        establishment=e["e77"],
        requested_by=w.users["company_own"],
        advisor=None,
        cluster=w.cluster,
        status=ExportContactRequest.Status.ACCEPTED,
    )
    declined = ExportContactRequestFactory(
        establishment=e["e77"],
        requested_by=w.users["advisor_own"],
        advisor=w.export_advisors["other"],
        status=ExportContactRequest.Status.DECLINED,
    )
    other = ExportContactRequestFactory(
        establishment=e["e78"],
        requested_by=w.users["company_other"],
        advisor=w.export_advisors["other"],
        status=ExportContactRequest.Status.ACCEPTED,
    )
    w.requests = {"pending": pending, "accepted": accepted, "declined": declined, "other": other}
    w.objects = {
        **e,
        "advisor_entry": w.export_advisors["own"],
        **{f"request_{k}": r for k, r in w.requests.items()},
    }
    return w


module_world, world = built_once_per_module(build_world)


def keys(pks, by_key):
    return {k for k, obj in by_key.items() if obj.pk in set(pks)}


# --- One-object rules ---------------------------------------------------------------------------

ONE_OBJECT = [
    (
        "can_view_establishment",
        "e77",
        {*E77_EDITORS, "advisor_partner_flows", "advisor_partner_matching", "animator"},
    ),
    (
        "can_view_establishment",
        "e78",
        {"platform", "company_other", "advisor_other", "admin_other"},
    ),
    ("can_edit_establishment", "e77", E77_EDITORS),
    ("can_edit_establishment", "e91", {"platform", "advisor_partner_flows"}),
    ("can_set_icpe_rubriques", "e77", {"platform", "advisor_own", "admin_own"}),
    ("can_manage_export_project", "e77", E77_EDITORS),
    ("can_request_export_contact", "e77", E77_EDITORS),
    ("can_edit_export_advisor", "advisor_entry", {"platform", "export_advisor"}),
    ("is_export_request_addressee", "request_pending", {"export_advisor"}),
    ("is_export_request_addressee", "request_accepted", {"cluster_manager"}),
    # The SME's side (its user, its own chamber's staff), the addressee, platform staff; never a
    # partner chamber's advisor, another export advisor or another cluster's contact.
    ("can_view_export_request", "request_pending", {*E77_EDITORS, "export_advisor"}),
    ("can_view_export_request", "request_accepted", {*E77_EDITORS, "cluster_manager"}),
    (
        "can_view_export_request",
        "request_other",
        {"platform", "company_other", "advisor_other", "admin_other", "export_advisor_other"},
    ),
    # An answer commits the addressee: nobody answers for them, not even platform staff.
    ("can_answer_export_request", "request_pending", {"export_advisor"}),
    ("can_answer_export_request", "request_accepted", {"cluster_manager"}),
    # Contact details only once accepted; a pending or declined request reveals nothing.
    ("can_see_export_contacts", "request_pending", set()),
    ("can_see_export_contacts", "request_declined", set()),
    ("can_see_export_contacts", "request_accepted", {*E77_EDITORS, "cluster_manager"}),
    # The SME's side withdraws, not platform staff acting for it, nor the addressee.
    ("can_withdraw_export_request", "request_pending", {"company_own", "advisor_own", "admin_own"}),
]


# --- Rules without an object --------------------------------------------------------------------

NO_OBJECT = [
    ("can_export_establishments", "-", STAFF | COMPANIES),
    ("can_create_establishment", "-", STAFF),
    ("can_search_establishments", "-", STAFF),
    ("is_export_contact", "-", EXPORT_CONTACTS),
]


@pytest.mark.parametrize(("role", "rule", "obj", "expected"), rows(ONE_OBJECT + NO_OBJECT))
def test_rule(world, role, rule, obj, expected):
    check_rule(policy, world, role, rule, obj, expected)


# --- Creating and importing: (existing establishment, target commune) ---------------------------

IMPORTS = {
    "new_in_77": (None, "e77"),
    "e77_stays": ("e77", "e77"),
    "e91_moved_into_77": ("e91", "e77"),  # a partner's establishment: partners read, not write
    "e77_moved_into_91": ("e77", "e91"),  # out of the importer's territory
}
OWN_CHAMBER = {"platform", "advisor_own", "admin_own"}
IMPORT_TABLE = [
    ("can_import_establishment", "new_in_77", OWN_CHAMBER),
    ("can_import_establishment", "e77_stays", OWN_CHAMBER),
    ("can_import_establishment", "e91_moved_into_77", {"platform"}),
    ("can_import_establishment", "e77_moved_into_91", {"platform"}),
    ("can_create_establishment", "new_in_77", OWN_CHAMBER),
    ("can_create_establishment", "new_in_91", {"platform", "advisor_partner_flows"}),
]


@pytest.mark.parametrize(("role", "rule", "obj", "expected"), rows(IMPORT_TABLE))
def test_create_and_import(world, role, rule, obj, expected):
    user, e = world.users[role], world.establishments
    if rule == "can_create_establishment":
        commune = e["e" + obj.removeprefix("new_in_")].commune
        assert policy.can_create_establishment(user, commune) is expected
        return
    existing, target = IMPORTS[obj]
    existing = e[existing] if existing else None
    assert policy.can_import_establishment(user, existing, e[target].commune) is expected


# --- Querysets: what each role's list holds -----------------------------------------------------

VISIBLE_ESTABLISHMENTS = {
    "platform": {"e77", "e91", "e95", "e78"},
    "company_own": {"e77"},
    "company_other": {"e78"},
    "advisor_own": {"e77", "e91", "e95"},  # own chamber and both partners (identity)
    "admin_own": {"e77", "e91", "e95"},
    "advisor_partner_flows": {"e91", "e77"},
    "advisor_partner_matching": {"e95", "e77"},
    "advisor_other": {"e78"},
    "admin_other": {"e78"},
    "animator": {"e77"},  # the members of the club they animate
}
VISIBLE_REQUESTS = {
    "platform": {"pending", "accepted", "declined", "other"},
    "company_own": {"pending", "accepted", "declined"},
    "company_other": {"other"},
    "advisor_own": {"pending", "accepted", "declined"},
    "admin_own": {"pending", "accepted", "declined"},
    "advisor_other": {"other"},
    "admin_other": {"other"},
    "export_advisor": {"pending"},
    "export_advisor_other": {"declined", "other"},
    "cluster_manager": {"accepted"},
}
ADDRESSED_TO = {
    "export_advisor": {"pending"},
    "export_advisor_other": {"declined", "other"},
    "cluster_manager": {"accepted"},
}
QUERYSETS = {
    "visible_establishments": VISIBLE_ESTABLISHMENTS,
    "visible_establishment_ids": VISIBLE_ESTABLISHMENTS,
    "visible_export_requests": VISIBLE_REQUESTS,
    "export_requests_addressed_to": ADDRESSED_TO,
}


@pytest.mark.parametrize(
    ("role", "rule", "expected"),
    [
        pytest.param(role, rule, table.get(role, set()), id=f"{rule}-{role}")
        for rule, table in QUERYSETS.items()
        for role in ROLES
    ],
)
def test_queryset_rule(world, role, rule, expected):
    user = world.users[role]
    if rule == "visible_establishment_ids":
        pks = policy.visible_establishment_ids(user, [e.pk for e in world.establishments.values()])
        assert keys(pks, world.establishments) == expected
        return
    by_key = world.establishments if rule == "visible_establishments" else world.requests
    assert keys(getattr(policy, rule)(user).values_list("pk", flat=True), by_key) == expected


@pytest.mark.parametrize("role", ROLES)
def test_lists_agree_with_the_one_object_rules(world, role):
    """What a list shows is what the one-object rule lets the same user open."""
    user = world.users[role]
    assert {
        k for k, e in world.establishments.items() if policy.can_view_establishment(user, e)
    } == VISIBLE_ESTABLISHMENTS.get(role, set())
    assert {
        k for k, r in world.requests.items() if policy.can_view_export_request(user, r)
    } == VISIBLE_REQUESTS.get(role, set())


# Once the agreements have ended, each chamber is back to its own territory's establishments.
ENDED = {
    **VISIBLE_ESTABLISHMENTS,
    "advisor_own": {"e77"},
    "admin_own": {"e77"},
    "advisor_partner_flows": {"e91"},
    "advisor_partner_matching": {"e95"},
}


@pytest.mark.parametrize(
    ("role", "rule", "expected"),
    [
        pytest.param(role, "visible_establishments", ENDED.get(role, set()), id=role)
        for role in ROLES
    ],
)
def test_an_ended_agreement_shares_no_establishment(world, role, rule, expected):
    DataSharingAgreement.objects.update(end=datetime.date(2025, 6, 30))
    user = world.users[role]
    pks = policy.visible_establishments(user).values_list("pk", flat=True)
    assert keys(pks, world.establishments) == expected
    ids = [e.pk for e in world.establishments.values()]
    assert keys(policy.visible_establishment_ids(user, ids), world.establishments) == expected
