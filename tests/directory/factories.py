"""Factories for the directory's objects (contacts, export advisors, clusters, contact
requests), plus ``role_world``: one establishment of each kind
of chamber relation and one user of each role, the cast of every app's role × rule table test
(``tests/<app>/test_policy.py``)."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import factory
import pytest
from django.contrib.auth.models import AnonymousUser

from maillage.accounts.models import DataSharingAgreement, User
from maillage.directory.models import (
    Cluster,
    ClusterProgramme,
    Contact,
    ExportAdvisor,
    ExportContactRequest,
    ExportProject,
)
from tests.factories import (
    ChamberFactory,
    DataSharingAgreementFactory,
    EstablishmentFactory,
    UserFactory,
)
from tests.networks.factories import MembershipFactory, NetworkFactory


class ContactFactory(factory.django.DjangoModelFactory):
    """A person to talk to at an establishment; no role unless given (as a contact typed in
    without one)."""

    class Meta:
        model = Contact

    establishment = factory.SubFactory(EstablishmentFactory)
    first_name = "Anne"
    last_name = factory.Sequence(lambda n: f"Martin-{n}")
    email = factory.LazyAttribute(lambda o: f"{o.last_name.lower()}@example.test")


class ExportAdvisorFactory(factory.django.DjangoModelFactory):
    """A conseiller du commerce extérieur's directory entry, with its own account."""

    class Meta:
        model = ExportAdvisor

    user = factory.SubFactory(UserFactory, role=User.Role.EXPORT_ADVISOR)
    name = factory.Sequence(lambda n: f"Conseiller export {n}")
    countries = ["DE"]
    sectors = []


class ClusterFactory(factory.django.DjangoModelFactory):
    """A competitiveness cluster; ``managers=[user, …]`` are the contacts who answer for it."""

    class Meta:
        model = Cluster
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Pôle test {n}")

    @factory.post_generation
    def managers(cluster, create, value, **kwargs):
        if create and value:
            cluster.managers.set(value)


class ClusterProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClusterProgramme

    cluster = factory.SubFactory(ClusterFactory)
    title = factory.Sequence(lambda n: f"Programme international {n}")
    countries = ["DE"]


class ExportProjectFactory(factory.django.DjangoModelFactory):
    """What an SME targets abroad."""

    class Meta:
        model = ExportProject

    establishment = factory.SubFactory(EstablishmentFactory)
    countries = ["DE"]
    sectors = []


class ExportContactRequestFactory(factory.django.DjangoModelFactory):
    """A pending request to an export advisor; pass ``advisor=None, cluster=…`` for a cluster."""

    class Meta:
        model = ExportContactRequest

    establishment = factory.SubFactory(EstablishmentFactory)
    requested_by = factory.SubFactory(UserFactory)
    advisor = factory.SubFactory(ExportAdvisorFactory)
    cluster = None
    countries = ["DE"]


# The establishments of role_world, one per chamber, each in a commune of that chamber's territory.
COMMUNES = {
    "e77": "77288",
    "e91": "91228",
    "e95": "95127",
    "e78": "78646",
}  # Melun, Évry, Cergy, Versailles


def _chamber(slug: str, commune: str):
    """A chamber whose territory is one commune: enough for the rules, far cheaper than a
    département's few hundred."""
    return ChamberFactory(slug=slug, communes=[commune])


def role_world() -> SimpleNamespace:
    """Four chambers around chamber 77 — 91 bound to it by a "flows" agreement, 95 by a
    "matching" (identity only) agreement, 78 by none — one establishment each, and one user per
    role, named from the point of view of establishment e77:

    anonymous, platform (superuser), company_own (represents e77), company_other (e78),
    advisor_own / admin_own (chamber 77), advisor_partner_flows (91), advisor_partner_matching
    (95), advisor_other / admin_other (78), animator (of a club e77 belongs to), export_advisor /
    export_advisor_other (with directory entries), cluster_manager / cluster_manager_other.
    """
    chambers = {key: _chamber(f"cci-{key[1:]}", commune) for key, commune in COMMUNES.items()}
    c77, c91, c95, c78 = (chambers[k] for k in ("e77", "e91", "e95", "e78"))
    DataSharingAgreementFactory(chamber_a=c77, chamber_b=c91)
    DataSharingAgreementFactory(
        chamber_a=c95, chamber_b=c77, scope=DataSharingAgreement.Scope.MATCHING
    )
    establishments = {
        key: EstablishmentFactory(commune_id=commune, name=f"Établissement {key}")
        for key, commune in COMMUNES.items()
    }
    e77, e78 = establishments["e77"], establishments["e78"]
    platform = UserFactory(username="root", role=User.Role.ADVISOR, is_superuser=True)
    club = NetworkFactory(name="Club 77", chamber=c77)
    MembershipFactory(establishment=e77, network=club, since=datetime.date(2024, 1, 1))
    animator = UserFactory(username="animator", role=User.Role.ANIMATOR)
    club.animators.add(animator)
    export_advisor = ExportAdvisorFactory(user__username="export_advisor")
    export_advisor_other = ExportAdvisorFactory(user__username="export_advisor_other")
    cluster_manager = UserFactory(username="cluster_manager", role=User.Role.CLUSTER_MANAGER)
    cluster_manager_other = UserFactory(
        username="cluster_manager_other", role=User.Role.CLUSTER_MANAGER
    )
    users = {
        "anonymous": AnonymousUser(),
        "platform": platform,
        "company_own": UserFactory(username="company_own", establishments=[e77]),
        "company_other": UserFactory(username="company_other", establishments=[e78]),
        "advisor_own": UserFactory(username="advisor_own", role=User.Role.ADVISOR, chamber=c77),
        "admin_own": UserFactory(username="admin_own", role=User.Role.CHAMBER_ADMIN, chamber=c77),
        "advisor_partner_flows": UserFactory(
            username="advisor_partner_flows", role=User.Role.ADVISOR, chamber=c91
        ),
        "advisor_partner_matching": UserFactory(
            username="advisor_partner_matching", role=User.Role.ADVISOR, chamber=c95
        ),
        "advisor_other": UserFactory(username="advisor_other", role=User.Role.ADVISOR, chamber=c78),
        "admin_other": UserFactory(
            username="admin_other", role=User.Role.CHAMBER_ADMIN, chamber=c78
        ),
        "animator": animator,
        "export_advisor": export_advisor.user,
        "export_advisor_other": export_advisor_other.user,
        "cluster_manager": cluster_manager,
        "cluster_manager_other": cluster_manager_other,
    }
    ClusterFactory(managers=[cluster_manager_other])
    return SimpleNamespace(
        users=users,
        chambers=chambers,
        establishments=establishments,
        export_advisors={"own": export_advisor, "other": export_advisor_other},
        cluster=ClusterFactory(managers=[cluster_manager]),
    )


ROLES = (
    "anonymous",
    "platform",
    "company_own",
    "company_other",
    "advisor_own",
    "admin_own",
    "advisor_partner_flows",
    "advisor_partner_matching",
    "advisor_other",
    "admin_other",
    "animator",
    "export_advisor",
    "export_advisor_other",
    "cluster_manager",
    "cluster_manager_other",
)
CHAMBER_STAFF = {role for role in ROLES if role.startswith(("advisor_", "admin_"))}
COMPANIES = {"company_own", "company_other"}


def rows(table, roles=ROLES, xfail=None):
    """Expand ``[(rule, object, roles allowed), …]`` into one ``(role, rule, object, expected)``
    row per role; ``xfail={(role, rule, object): reason}`` marks the rows where the code is
    known to disagree with what the product should do."""
    xfail = xfail or {}
    out = []
    for rule, obj, allowed in table:
        assert allowed <= set(roles), (rule, obj, allowed - set(roles))
        for role in roles:
            marks = ()
            if (role, rule, obj) in xfail:
                marks = pytest.mark.xfail(strict=True, reason=xfail[(role, rule, obj)])
            out.append(
                pytest.param(
                    role, rule, obj, role in allowed, marks=marks, id=f"{rule}-{obj}-{role}"
                )
            )
    return out


def check_rule(policy, world, role, rule, obj, expected):
    """Ask ``policy.<rule>`` about ``world.objects[obj]`` (about nothing when ``obj`` is "-") for
    the role's user and compare with the row's expected answer."""
    args = () if obj == "-" else (world.objects[obj],)
    assert getattr(policy, rule)(world.users[role], *args) is expected
