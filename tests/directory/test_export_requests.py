"""Contact requests to export advisors and clusters: the addressee's inbox and answer, contact
details only on acceptance, the advisor's own entry, and who may see or act on a request."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from maillage.accounts.models import User
from maillage.directory import services
from maillage.directory.models import (
    ExportContactRequest,
    ExportProject,
)
from maillage.notifications.models import Notification
from tests.directory.factories import (
    ClusterFactory,
    ClusterProgrammeFactory,
    ExportAdvisorFactory,
    ExportProjectFactory,
)
from tests.factories import SuperuserFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(territory):
    def advisor(username, name, countries, sectors):
        return ExportAdvisorFactory(
            user__username=username,
            user__email=f"{username}@cce.test",
            user__first_name=name.split()[0],
            name=name,
            organisation="Export SA",
            countries=countries,
            sectors=sectors,
            languages=["fr"],
            phone="01 23 45 67 89",
        )

    morocco = advisor("cce_ma", "Karim Maroc", ["MA"], ["agrifood"])
    germany = advisor("cce_de", "Anne Allemagne", ["DE"], ["industry"])
    managers = [
        UserFactory(
            username=username, role=User.Role.CLUSTER_MANAGER, email=f"{username}@pole.test"
        )
        for username in ("pole_a", "pole_b")
    ]
    cluster = ClusterFactory(name="Pôle Agri", sectors=["agrifood"], managers=managers)
    ClusterProgrammeFactory(cluster=cluster, title="Agri Maghreb", countries=["MA"])
    sea = UserFactory(username="pole_mer", role=User.Role.CLUSTER_MANAGER)
    ClusterFactory(name="Pôle Mer", sectors=["maritime"], managers=[sea])
    sme_user = territory["company77"]
    sme_user.email, sme_user.first_name, sme_user.last_name = "co77@example.test", "Léa", "Dupin"
    sme_user.save()
    ExportProjectFactory(
        establishment=territory["e77"], countries=["MA", "VN"], sectors=["agrifood"]
    )
    req = services.request_export_contact(
        sme_user, territory["e77"], advisor=morocco, message="Un salon à Casablanca en mars"
    )
    return {
        **territory,
        "morocco": morocco,
        "germany": germany,
        "cluster": cluster,
        "managers": managers,
        "sea": sea,
        "req": req,
    }


def outsiders(w):
    """Who must neither see nor act on the SME's request to the Moroccan advisor."""
    return {
        "advisor of another chamber": w["advisor78"],
        "another export advisor": w["germany"].user,
        "another cluster's contact": w["sea"],
        "another company": w["company78"],
    }


def test_the_advisor_sees_the_request_with_the_project_and_answers(client, world):
    req = world["req"]
    client.force_login(world["morocco"].user)
    home = client.get("/")
    assert home.status_code == 302 and home.url == reverse("export-inbox")
    inbox = client.get(reverse("export-inbox")).content.decode()
    assert "Scierie de Melun-Test" in inbox and "Maroc, Viêt Nam" in inbox
    assert "agroalimentaire" in inbox and "Un salon à Casablanca" in inbox
    page = client.get(reverse("export-request", args=[req.pk])).content.decode()
    assert "co77@example.test" not in page and "Léa Dupin" not in page
    r = client.post(
        reverse("export-answer", args=[req.pk]),
        {"answer": "accept", "message": "Avec plaisir, écrivez-moi."},
        follow=True,
    )
    page = r.content.decode()
    assert "co77@example.test" in page and "Léa Dupin" in page
    req.refresh_from_db()
    assert req.status == ExportContactRequest.Status.ACCEPTED
    n = Notification.objects.get(user=world["company77"], kind="export_answer")
    assert "Karim Maroc a accepté" in n.title and n.url == reverse("export-request", args=[req.pk])
    # The SME sees the outcome, the message and now the advisor's contact details.
    client.force_login(world["company77"])
    page = client.get(reverse("export-request", args=[req.pk])).content.decode()
    assert "Avec plaisir, écrivez-moi." in page
    assert "cce_ma@cce.test" in page and "01 23 45 67 89" in page
    # An answer is final.
    client.force_login(world["morocco"].user)
    r = client.post(reverse("export-answer", args=[req.pk]), {"answer": "decline"}, follow=True)
    assert "Cette demande a déjà reçu une réponse." in r.content.decode()
    req.refresh_from_db()
    assert req.status == ExportContactRequest.Status.ACCEPTED


def test_a_declined_request_reveals_no_contact_details(client, world):
    req = world["req"]
    client.force_login(world["morocco"].user)
    client.post(
        reverse("export-answer", args=[req.pk]),
        {"answer": "decline", "message": "Je ne couvre pas le Viêt Nam."},
    )
    page = client.get(reverse("export-request", args=[req.pk])).content.decode()
    assert "Déclinée" in page or "déclinée" in page
    assert "co77@example.test" not in page
    client.force_login(world["company77"])
    for url in (
        reverse("export-request", args=[req.pk]),
        reverse("export-project", args=[req.establishment_id]),
    ):
        page = client.get(url).content.decode()
        assert "Je ne couvre pas le Viêt Nam." in page
        assert "cce_ma@cce.test" not in page and "01 23 45 67 89" not in page


def test_outsiders_neither_see_nor_answer_a_request(client, world):
    req = world["req"]
    detail = reverse("export-request", args=[req.pk])
    answer = reverse("export-answer", args=[req.pk])
    for who, user in outsiders(world).items():
        client.force_login(user)
        assert client.get(detail).status_code == 404, who
        assert client.post(answer, {"answer": "accept"}).status_code == 404, who
        inbox = client.get(reverse("export-inbox")).content.decode()
        assert "Scierie de Melun-Test" not in inbox and "Casablanca" not in inbox, who
    client.logout()
    for url in (detail, reverse("export-inbox"), reverse("export-advisor-profile")):
        r = client.get(url)
        assert r.status_code == 302 and "/comptes/login/" in r.url
    r = client.post(answer, {"answer": "accept"})
    assert r.status_code == 302 and "/comptes/login/" in r.url
    # The SME's side (its users, its chamber's advisors) sees the request but cannot answer it.
    for user in (world["company77"], world["advisor77"]):
        client.force_login(user)
        assert client.get(detail).status_code == 200
        assert client.post(answer, {"answer": "accept"}).status_code == 403
    req.refresh_from_db()
    assert req.status == ExportContactRequest.Status.PENDING and req.answered_by is None


def test_a_cluster_receives_requests_through_its_contacts(
    client, world, django_capture_on_commit_callbacks
):
    sme, cluster = world["e77"], world["cluster"]
    client.force_login(world["company77"])
    project = client.get(reverse("export-project", args=[sme.pk])).content.decode()
    assert "programme international : Maroc" in project  # the match keeps its explanation
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("export-cluster-contact", args=[sme.pk, cluster.pk]),
            {"message": "Mission ASEAN ?"},
        )
    req = ExportContactRequest.objects.get(cluster=cluster)
    assert req.advisor is None and req.countries == ["MA", "VN"]
    assert {m.to[0] for m in mail.outbox[-2:]} == {"pole_a@pole.test", "pole_b@pole.test"}
    # Both contacts see it; the other cluster's contact and the advisors do not.
    for user in world["managers"]:
        client.force_login(user)
        assert "Mission ASEAN ?" in client.get(reverse("export-inbox")).content.decode()
    for user in (world["sea"], world["morocco"].user):
        client.force_login(user)
        assert client.get(reverse("export-request", args=[req.pk])).status_code == 404
    first, second = world["managers"]
    client.force_login(first)
    client.post(reverse("export-answer", args=[req.pk]), {"answer": "accept", "message": "Oui"})
    client.force_login(second)
    r = client.post(reverse("export-answer", args=[req.pk]), {"answer": "decline"}, follow=True)
    assert "Cette demande a déjà reçu une réponse." in r.content.decode()
    req.refresh_from_db()
    assert (req.status, req.answered_by) == ("accepted", first)
    client.force_login(world["company77"])
    page = client.get(reverse("export-request", args=[req.pk])).content.decode()
    assert "pole_a@pole.test" in page and "pole_b@pole.test" not in page


def test_bad_requests_get_a_french_error_and_create_nothing(client, world):
    sme = world["e77"]
    client.force_login(world["company77"])
    cluster = world["cluster"]
    cluster.managers.clear()
    r = client.post(reverse("export-cluster-contact", args=[sme.pk, cluster.pk]), follow=True)
    assert "Ce pôle n&#x27;a pas encore de contact sur Maillage" in r.content.decode()
    r = client.post(reverse("export-contact", args=[sme.pk, world["morocco"].pk]), follow=True)
    assert "Vous avez déjà demandé un contact à ce conseiller." in r.content.decode()
    ExportProject.objects.all().delete()
    r = client.post(reverse("export-contact", args=[sme.pk, world["germany"].pk]), follow=True)
    assert "Déclarez d&#x27;abord les pays et secteurs visés" in r.content.decode()
    assert ExportContactRequest.objects.count() == 1
    client.force_login(world["morocco"].user)
    r = client.post(reverse("export-answer", args=[world["req"].pk]), {"answer": "?"}, follow=True)
    assert "Choisissez d&#x27;accepter ou de décliner" in r.content.decode()


def test_an_advisor_edits_their_own_entry(client, world):
    advisor = world["morocco"]
    url = reverse("export-advisor-profile")
    client.force_login(advisor.user)
    assert client.get(url).status_code == 200
    r = client.post(
        url,
        {
            "countries": "MA, vn",
            "languages": "fr, AR",
            "sectors": ["agrifood"],
            "availability_note": "pas en août",
            "phone": "06 00 00 00 00",
        },
    )
    assert r.status_code == 302
    advisor.refresh_from_db()
    assert advisor.countries == ["MA", "VN"] and advisor.languages == ["ar", "fr"]
    assert (advisor.available, advisor.availability_note) == (False, "pas en août")
    # A bad code: a French message, the submitted text kept, nothing saved.
    r = client.post(url, {"countries": "MA, XX", "languages": "fr", "available": "on"})
    page = r.content.decode()
    assert r.status_code == 200 and "Pays inconnu : « XX »" in page
    assert 'value="MA, XX"' in page
    advisor.refresh_from_db()
    assert advisor.countries == ["MA", "VN"] and advisor.available is False
    # Nobody else has an entry to edit here; no one edits another advisor's entry.
    for user in (world["germany"].user, world["company77"], world["advisor77"], world["sea"]):
        client.force_login(user)
        client.post(url, {"countries": "DE"})
    advisor.refresh_from_db()
    assert advisor.countries == ["MA", "VN"]
    client.force_login(world["company77"])
    assert client.get(url).status_code == 404


def test_the_inbox_does_not_grow_in_queries(client, world, make_establishment, make_user):
    for n in range(15):
        e = make_establishment("77288", name=f"Atelier {n:02d}")
        owner = make_user(f"owner{n}", User.Role.COMPANY, establishments=[e])
        ExportProjectFactory(establishment=e, countries=["MA"], sectors=["agrifood"])
        services.request_export_contact(owner, e, advisor=world["morocco"])
    client.force_login(world["morocco"].user)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        page = client.get(reverse("export-inbox")).content.decode()
    assert "Atelier 14" in page and len(ctx.captured_queries) <= 8


def test_policy_of_export_requests(world):
    from django.contrib.auth.models import AnonymousUser

    from maillage.directory import policy as directory_policy

    req = world["req"]
    staff = SuperuserFactory(username="root")
    anonymous = AnonymousUser()
    assert directory_policy.can_view_export_request(staff, req)
    assert not directory_policy.can_answer_export_request(
        staff, req
    )  # an answer commits the advisor
    assert not directory_policy.can_view_export_request(anonymous, req)
    assert not directory_policy.export_requests_addressed_to(anonymous).exists()
    assert list(directory_policy.export_requests_addressed_to(world["morocco"].user)) == [req]
    for user in outsiders(world).values():
        assert not directory_policy.can_view_export_request(user, req)
        assert not directory_policy.can_answer_export_request(user, req)
        assert not directory_policy.export_requests_addressed_to(user).exists()
        assert not directory_policy.can_edit_export_advisor(user, world["morocco"])
    # Contact details on acceptance only, and to the two sides only.
    sides = (world["company77"], world["morocco"].user)
    assert not any(directory_policy.can_see_export_contacts(u, req) for u in sides)
    services.answer_export_contact(world["morocco"].user, req, accept=True)
    assert all(directory_policy.can_see_export_contacts(u, req) for u in sides)
    assert not any(
        directory_policy.can_see_export_contacts(u, req) for u in outsiders(world).values()
    )


def test_unanswered_requests_are_reminded_once(world, django_capture_on_commit_callbacks):
    import datetime

    from django.core.management import call_command
    from django.utils import timezone

    old = world["req"]
    ExportContactRequest.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=8)
    )
    to_cluster = services.request_export_contact(
        world["company77"], world["e77"], cluster=world["cluster"]
    )
    answered = services.request_export_contact(
        world["company77"], world["e77"], advisor=world["germany"]
    )
    ExportContactRequest.objects.filter(pk__in=[to_cluster.pk, answered.pk]).update(
        created_at=timezone.now() - datetime.timedelta(days=9)
    )
    services.answer_export_contact(world["germany"].user, answered, accept=False)
    fresh_e = world["e91"]
    ExportProjectFactory(establishment=fresh_e, countries=["MA"], sectors=["agrifood"])
    fresh = services.request_export_contact(
        User.objects.get(username="adv91"), fresh_e, advisor=world["morocco"]
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_export_reminders")
    reminded = set(
        ExportContactRequest.objects.filter(reminded_at__isnull=False).values_list("pk", flat=True)
    )
    assert reminded == {old.pk, to_cluster.pk}
    assert fresh.pk not in reminded and answered.pk not in reminded
    assert sorted(m.to[0] for m in mail.outbox) == [
        "cce_ma@cce.test",
        "pole_a@pole.test",
        "pole_b@pole.test",
    ]
    assert "Rappel : Scierie de Melun-Test attend votre réponse" in mail.outbox[0].subject
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.remind_unanswered_export_requests() == 0
    assert mail.outbox == []


def test_the_sme_withdraws_a_pending_request_and_may_ask_again(
    client, world, django_capture_on_commit_callbacks
):
    req = world["req"]
    detail = reverse("export-request", args=[req.pk])
    withdraw = reverse("export-withdraw", args=[req.pk])
    # Outsiders get 404, the addressee 403, an anonymous visitor the login page.
    for who, user in outsiders(world).items():
        client.force_login(user)
        assert client.post(withdraw).status_code == 404, who
    client.force_login(world["morocco"].user)
    assert "Retirer ma demande" not in client.get(detail).content.decode()
    assert client.post(withdraw).status_code == 403
    client.logout()
    r = client.post(withdraw)
    assert r.status_code == 302 and "/comptes/login/" in r.url
    req.refresh_from_db()
    assert req.status == ExportContactRequest.Status.PENDING
    # The SME's chamber advisor may act for it too; here the company itself withdraws.
    client.force_login(world["company77"])
    assert "Retirer ma demande" in client.get(detail).content.decode()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(withdraw, follow=True)
    assert "Votre demande est retirée" in r.content.decode()
    req.refresh_from_db()
    assert req.status == "withdrawn" and req.withdrawn_at is not None
    assert [m.to[0] for m in mail.outbox] == ["cce_ma@cce.test"]
    assert "a retiré sa demande" in mail.outbox[0].subject
    r = client.post(withdraw, follow=True)
    assert "Cette demande a été retirée par l&#x27;entreprise." in r.content.decode()
    # The addressee sees it as withdrawn and can no longer answer.
    client.force_login(world["morocco"].user)
    assert "retirée" in client.get(reverse("export-inbox")).content.decode()
    page = client.get(detail).content.decode()
    assert "retirée" in page and 'value="accept"' not in page
    r = client.post(reverse("export-answer", args=[req.pk]), {"answer": "accept"}, follow=True)
    assert "Cette demande a été retirée par l&#x27;entreprise." in r.content.decode()
    req.refresh_from_db()
    assert req.status == "withdrawn" and req.answered_by is None
    # A withdrawn request does not block a new one to the same advisor; a pending one does.
    client.force_login(world["company77"])
    project = reverse("export-project", args=[world["e77"].pk])
    again_url = reverse("export-contact", args=[world["e77"].pk, req.advisor_id])
    assert again_url in client.get(project).content.decode()
    again = services.request_export_contact(world["company77"], world["e77"], advisor=req.advisor)
    assert again.pk != req.pk and again.status == "pending"
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="déjà demandé un contact à ce conseiller"):
        services.request_export_contact(world["company77"], world["e77"], advisor=req.advisor)
    # An answered request cannot be withdrawn.
    services.answer_export_contact(world["morocco"].user, again, accept=False)
    with pytest.raises(ValidationError, match="déjà reçu une réponse"):
        services.withdraw_export_contact(world["advisor77"], again)


def test_unanswered_requests_expire_after_the_reminder(world, django_capture_on_commit_callbacks):
    import datetime

    from django.core.management import call_command
    from django.utils import timezone

    old = world["req"]
    now = timezone.now()
    ExportContactRequest.objects.filter(pk=old.pk).update(
        created_at=now - datetime.timedelta(days=31)
    )
    # Old as well, but answered, withdrawn: left alone. A 20-day-old one: only reminded.
    answered = services.request_export_contact(
        world["company77"], world["e77"], advisor=world["germany"]
    )
    withdrawn = services.request_export_contact(
        world["company77"], world["e77"], cluster=world["cluster"]
    )
    fresh_e = world["e91"]
    ExportProjectFactory(establishment=fresh_e, countries=["MA"], sectors=["agrifood"])
    recent = services.request_export_contact(
        User.objects.get(username="adv91"), fresh_e, advisor=world["morocco"]
    )
    ExportContactRequest.objects.filter(pk__in=[answered.pk, withdrawn.pk]).update(
        created_at=now - datetime.timedelta(days=40)
    )
    ExportContactRequest.objects.filter(pk=recent.pk).update(
        created_at=now - datetime.timedelta(days=20)
    )
    services.answer_export_contact(world["germany"].user, answered, accept=True)
    services.withdraw_export_contact(world["company77"], withdrawn)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_export_reminders")
    statuses = dict(ExportContactRequest.objects.values_list("pk", "status"))
    # Never reminded yet: reminded first, expired a few days later (the addressee gets a chance).
    assert statuses == {
        old.pk: "pending",
        answered.pk: "accepted",
        withdrawn.pk: "withdrawn",
        recent.pk: "pending",
    }
    ExportContactRequest.objects.filter(pk__in=[old.pk, recent.pk]).update(
        reminded_at=now - datetime.timedelta(days=2)
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_export_reminders")
    assert ExportContactRequest.objects.get(pk=old.pk).status == "pending"
    ExportContactRequest.objects.filter(pk__in=[old.pk, recent.pk]).update(
        reminded_at=now - datetime.timedelta(days=4)
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_export_reminders")
    old.refresh_from_db()
    assert old.status == "expired" and old.expired_at is not None
    statuses = dict(ExportContactRequest.objects.values_list("pk", "status"))
    assert statuses[recent.pk] == "pending" and statuses[answered.pk] == "accepted"
    n = Notification.objects.get(user=world["company77"], kind="export_expired")
    assert "Karim Maroc n'a pas répondu" in n.title
    assert n.url == reverse("export-project", args=[world["e77"].pk])
    assert any(m.to == ["co77@example.test"] for m in mail.outbox)
    # Idempotent; the advisor can no longer answer; the SME may ask again.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.expire_unanswered_export_requests() == 0
        assert services.remind_unanswered_export_requests() == 0
    assert mail.outbox == []
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="expiré sans réponse"):
        services.answer_export_contact(world["morocco"].user, old, accept=True)
    services.request_export_contact(world["company77"], world["e77"], advisor=world["morocco"])


def test_the_expiry_kind_is_listed_in_the_international_section():
    from maillage.directory.notifications import EXPORT, EXPORT_EXPIRED
    from maillage.notifications import registry

    kind = registry.REGISTRY[EXPORT_EXPIRED]
    assert kind.section == EXPORT and "faute de réponse" in str(kind.label)
