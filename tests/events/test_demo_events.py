"""Demo data of events and export support: deterministic, idempotent, usable."""

import pytest

from maillage.accounts.models import User
from maillage.directory.models import (
    Cluster,
    ExportAdvisor,
    ExportContactRequest,
    ExportProject,
)
from maillage.events import demo
from maillage.events.models import Event, Registration
from maillage.ingest.demo import DemoBuilder
from maillage.networks import policy as networks_policy
from maillage.networks.models import NetworkPost
from tests.networks.factories import NetworkFactory

pytestmark = pytest.mark.django_db


def test_events_demo_is_idempotent(territory):
    club = NetworkFactory(name="Club démo", chamber=territory["chambers"][2])
    entreprise1 = User.objects.create_user("entreprise1", role=User.Role.COMPANY)
    entreprise1.establishments.add(territory["e78"])
    chambers = {"cci-versailles": territory["chambers"][2]}
    counts = []
    for _ in range(2):
        demo.load(DemoBuilder(seed=1), chambers, club)
        counts.append(
            [
                m.objects.count()
                for m in (ExportAdvisor, Cluster, ExportProject, Event, Registration, NetworkPost)
            ]
        )
    assert counts[0] == counts[1] == [6, 3, 1, 2, 1, 1]
    # The demo company belongs to the club (once), so its user enters the members' space.
    assert list(club.memberships.values_list("establishment", flat=True)) == [territory["e78"].pk]
    assert networks_policy.can_view_network_space(entreprise1, club)
    # Export advisors and cluster contacts log in with their own roles.
    assert set(User.objects.filter(username__startswith="cce.").values_list("role", flat=True)) == {
        User.Role.EXPORT_ADVISOR
    }
    for cluster in Cluster.objects.all():
        assert [m.role for m in cluster.managers.all()] == [User.Role.CLUSTER_MANAGER]
    req = ExportContactRequest.objects.get()
    assert (req.advisor.user.username, req.status) == ("cce.maroc", "pending")
    assert ExportProject.objects.get().countries == ["MA", "VN"]
    assert Event.objects.filter(starts_at__isnull=False, meetings_enabled=True).count() == 1
