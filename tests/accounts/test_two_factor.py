"""Optional TOTP two-factor authentication (django-otp): enrolment from « Double
authentification », the second login step, wrong codes, backup codes, disabling, the roles a
chamber makes it mandatory for, and API tokens."""

from __future__ import annotations

import re
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from maillage.accounts import two_factor
from maillage.accounts.models import ApiToken, User
from tests.accounts.factories import TOTPDeviceFactory
from tests.factories import SuperuserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-test-123"


def code_for(device: TOTPDevice, offset_steps: int = 0) -> str:
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    right = {code_for(device, k) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


def enrolled(user) -> TOTPDevice:
    device = TOTPDeviceFactory(user=user, name="app", confirmed=True)
    return device


@pytest.fixture
def advisor(make_chamber, make_user):
    return make_user("conseil", User.Role.ADVISOR, make_chamber("cci-77", "77"))


def sign_in(client, username, next_url=""):
    data = {"username": username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post("/comptes/login/", data)


def test_enrolment_shows_a_qr_code_and_the_secret_then_a_first_code_confirms_it(client, advisor):
    client.force_login(advisor)
    html = client.get("/compte/double-authentification/").content.decode()
    device = TOTPDevice.objects.get(user=advisor, confirmed=False)
    secret = two_factor.secret_text(device)
    assert secret in html
    assert 'src="/compte/double-authentification/qr.svg"' in html
    qr = client.get("/compte/double-authentification/qr.svg")
    assert qr["Content-Type"] == "image/svg+xml"
    assert qr.content.lstrip().startswith(b"<?xml") and b"<svg" in qr.content
    assert "no-store" in qr["Cache-Control"]
    # Reloading keeps the same secret (the QR code already scanned stays valid).
    client.get("/compte/double-authentification/")
    assert TOTPDevice.objects.filter(user=advisor).count() == 1

    response = client.post(
        "/compte/double-authentification/", {"action": "confirm", "code": wrong_code(device)}
    )
    assert "Code incorrect" in response.content.decode()
    assert not two_factor.has_device(advisor)
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)

    response = client.post(
        "/compte/double-authentification/", {"action": "confirm", "code": code_for(device)}
    )
    html = response.content.decode()
    assert "Double authentification activée" in html
    assert two_factor.has_device(advisor)
    codes = re.findall(r"<li><code>(\w+)</code></li>", html)
    assert len(codes) == two_factor.BACKUP_CODES
    assert set(codes) == set(
        StaticToken.objects.filter(device__user=advisor).values_list("token", flat=True)
    )
    # Once confirmed, the secret is not shown again.
    html = client.get("/compte/double-authentification/").content.decode()
    assert secret not in html and "est activée" in html
    assert client.get("/compte/double-authentification/qr.svg").status_code == 404


def test_login_without_a_device_is_unchanged(client, advisor):
    response = sign_in(client, "conseil")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").wsgi_request.user == advisor


def test_login_with_a_device_asks_the_code_then_lands_on_the_page_asked(client, advisor):
    device = enrolled(advisor)
    response = sign_in(client, "conseil", next_url="/marche/")
    assert response.status_code == 302
    assert response["Location"] == "/comptes/verification/?next=%2Fmarche%2F"
    # Not signed in yet: the password alone opens nothing.
    assert client.get("/marche/")["Location"].startswith("/comptes/login/")
    page = client.get(response["Location"]).content.decode()
    assert "Code de vérification" in page

    response = client.post("/comptes/verification/", {"code": code_for(device), "next": "/marche/"})
    assert response.status_code == 302 and response["Location"] == "/marche/"
    request = client.get("/marche/").wsgi_request
    assert request.user == advisor and request.user.is_verified()


def test_a_wrong_code_is_refused_in_french_and_throttled(client, advisor):
    device = enrolled(advisor)
    sign_in(client, "conseil")
    response = client.post("/comptes/verification/", {"code": wrong_code(device)})
    assert response.status_code == 200
    assert "Code de vérification incorrect" in response.content.decode()
    assert client.get("/marche/").status_code == 302  # still not signed in
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    # Right away, even the right code waits (django-otp doubles the delay after each failure).
    response = client.post("/comptes/verification/", {"code": code_for(device)})
    assert "Trop de codes erronés" in response.content.decode()
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    response = client.post("/comptes/verification/", {"code": code_for(device)})
    assert response.status_code == 302


def test_wrong_codes_count_as_failed_logins_and_end_the_attempt(client, advisor):
    from axes.models import AccessAttempt

    device = enrolled(advisor)
    sign_in(client, "conseil")
    for _attempt in range(4):
        TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
        response = client.post("/comptes/verification/", {"code": wrong_code(device)})
        assert response.status_code == 200
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    response = client.post("/comptes/verification/", {"code": wrong_code(device)})
    assert response.status_code == 302 and response["Location"].startswith("/comptes/login/")
    assert AccessAttempt.objects.get(username="conseil").failures_since_start == 5
    # The password must be given again: the code alone no longer signs in.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    response = client.post("/comptes/verification/", {"code": code_for(device)}, follow=True)
    assert "Votre connexion a expiré" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_a_backup_code_works_once(client, advisor):
    enrolled(advisor)
    codes = two_factor.new_backup_codes(advisor)
    sign_in(client, "conseil")
    assert client.post("/comptes/verification/", {"code": codes[0]}).status_code == 302
    client.logout()
    sign_in(client, "conseil")
    response = client.post("/comptes/verification/", {"code": codes[0]})
    assert "Code de vérification incorrect" in response.content.decode()
    assert two_factor.backup_codes_left(advisor) == two_factor.BACKUP_CODES - 1


def test_the_second_step_expires_and_needs_a_password_first(client, advisor):
    device = enrolled(advisor)
    response = client.post("/comptes/verification/", {"code": code_for(device)}, follow=True)
    assert "Votre connexion a expiré" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    sign_in(client, "conseil")
    session = client.session
    session["maillage_2fa_pending"]["at"] -= 301
    session.save()
    response = client.post("/comptes/verification/", {"code": code_for(device)}, follow=True)
    assert "Votre connexion a expiré" in response.content.decode()


def test_next_cannot_send_elsewhere(client, advisor):
    device = enrolled(advisor)
    sign_in(client, "conseil")
    response = client.post(
        "/comptes/verification/", {"code": code_for(device), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_disabling_needs_a_valid_code(client, advisor):
    device = enrolled(advisor)
    sign_in(client, "conseil")
    client.post("/comptes/verification/", {"code": code_for(device)})
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    response = client.post(
        "/compte/double-authentification/", {"action": "disable", "code": wrong_code(device)}
    )
    assert "Code de vérification incorrect" in response.content.decode()
    assert two_factor.has_device(advisor)
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    response = client.post(
        "/compte/double-authentification/",
        {"action": "disable", "code": code_for(device, offset_steps=1)},
        follow=True,
    )
    assert "Double authentification désactivée" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=advisor, confirmed=True).exists()
    client.logout()
    assert sign_in(client, "conseil")["Location"] == "/"  # a password is enough again


def test_new_backup_codes_replace_the_old_ones(client, advisor):
    device = enrolled(advisor)
    old = two_factor.new_backup_codes(advisor)
    client.force_login(advisor)
    response = client.post(
        "/compte/double-authentification/", {"action": "backup", "code": code_for(device)}
    )
    new = re.findall(r"<li><code>(\w+)</code></li>", response.content.decode())
    assert len(new) == two_factor.BACKUP_CODES and not set(new) & set(old)


def test_nobody_else_sees_a_users_secret(client, advisor, make_user, make_chamber):
    client.force_login(advisor)
    client.get("/compte/double-authentification/")
    secret = two_factor.secret_text(TOTPDevice.objects.get(user=advisor))
    qr = client.get("/compte/double-authentification/qr.svg").content
    client.logout()
    for url in ("/compte/double-authentification/", "/compte/double-authentification/qr.svg"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/comptes/login/")
    others = [
        make_user("collegue", User.Role.ADVISOR, advisor.chamber),
        make_user("autre", User.Role.ADVISOR, make_chamber("cci-78", "78")),
        make_user("societe", User.Role.COMPANY),
    ]
    for other in others:
        client.force_login(other)
        html = client.get("/compte/double-authentification/").content.decode()
        assert secret not in html
        assert client.get("/compte/double-authentification/qr.svg").content != qr
    # Each got a secret of their own; the advisor's is unchanged.
    assert TOTPDevice.objects.filter(user=advisor).count() == 1
    assert two_factor.secret_text(TOTPDevice.objects.get(user=advisor)) == secret


def test_required_roles_are_sent_to_enrolment_until_enrolled(client, advisor, make_user, settings):
    settings.MAILLAGE_OTP_REQUIRED_ROLES = ["chamber_admin", "advisor"]
    company = make_user("societe", User.Role.COMPANY)
    client.force_login(company)
    assert client.get("/").status_code == 200  # not a required role

    assert sign_in(client, "conseil")["Location"] == "/"
    for url in ("/", "/marche/", "/compte/jetons/", "/etablissements/"):
        response = client.get(url)
        assert (
            response.status_code == 302
            and response["Location"] == "/compte/double-authentification/"
        )
    response = client.get("/api/establishments")
    assert response.status_code == 403 and "Double authentification" in response.json()["detail"]
    page = client.get("/compte/double-authentification/").content.decode()
    assert "impose la double authentification" in page
    assert client.get("/compte/double-authentification/qr.svg").status_code == 200

    device = TOTPDevice.objects.get(user=advisor)
    client.post("/compte/double-authentification/", {"action": "confirm", "code": code_for(device)})
    assert client.get("/").status_code == 200  # this session was verified by the first code

    # A later session of the same user without the code is sent to the second step.
    other = client_class_login(advisor)
    response = other.get("/marche/")
    assert response.status_code == 302 and response["Location"] == "/comptes/verification/"


def client_class_login(user):
    from django.test import Client

    other = Client()
    other.force_login(user)
    return other


def test_superusers_are_covered_by_the_superuser_token(client, make_user, settings):
    boss = SuperuserFactory(username="chef")
    settings.MAILLAGE_OTP_REQUIRED_ROLES = ["chamber_admin"]
    client.force_login(boss)
    assert client.get("/marche/").status_code == 200
    settings.MAILLAGE_OTP_REQUIRED_ROLES = ["superuser"]
    assert client.get("/marche/")["Location"] == "/compte/double-authentification/"


def test_an_unknown_required_role_fails_the_system_check(settings):
    settings.MAILLAGE_OTP_REQUIRED_ROLES = ["advisor", "conseiller"]
    with pytest.raises(SystemCheckError, match="conseiller"):
        call_command("check")


def test_tokens_need_a_verified_session_when_the_user_has_a_device(client, advisor):
    device = enrolled(advisor)
    client.force_login(advisor)  # a session that did not give the code
    response = client.post("/compte/jetons/", {"name": "script", "days": 30})
    assert "Confirmez d&#x27;abord votre connexion" in response.content.decode()
    assert not ApiToken.objects.filter(user=advisor).exists()
    client.logout()
    sign_in(client, "conseil")
    client.post("/comptes/verification/", {"code": code_for(device)})
    response = client.post("/compte/jetons/", {"name": "script", "days": 30})
    assert ApiToken.objects.filter(user=advisor).count() == 1
    # The token itself is not asked for a code: the API answers it.
    token = re.search(r"mlg_[\w-]+", response.content.decode()).group(0)
    client.logout()
    api = client.get("/api/establishments", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200


def test_the_back_office_login_goes_through_the_second_factor(client, advisor):
    advisor.is_staff = True
    advisor.save()
    enrolled(advisor)
    response = client.get("/admin/login/?next=/admin/")
    assert response["Location"] == "/comptes/login/?next=/admin/"
    response = client.post(
        "/admin/login/", {"username": "conseil", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert not client.get("/admin/").wsgi_request.user.is_authenticated


def test_the_back_office_shows_nobodys_secret(client):
    from django.contrib import admin

    assert not admin.site.is_registered(TOTPDevice)
    boss = SuperuserFactory(username="chef")
    enrolled(boss)
    client.force_login(boss)
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404


def test_an_operator_removes_a_lost_second_factor(advisor):
    import io

    enrolled(advisor)
    two_factor.new_backup_codes(advisor)
    out = io.StringIO()
    call_command("disable_two_factor", "conseil", stdout=out)
    assert "désactivée" in out.getvalue()
    assert not two_factor.has_device(advisor)
    with pytest.raises(CommandError, match="inconnu"):
        call_command("disable_two_factor", "personne")
