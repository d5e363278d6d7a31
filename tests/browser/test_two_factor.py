"""An advisor with two-factor authentication signs in: password, then the code of their
authenticator application (computed here from the device's key); a wrong code is refused in
French; then their « Double authentification » page says it is on."""

import time

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from maillage.accounts.models import User
from tests.accounts.factories import TOTPDeviceFactory

pytestmark = pytest.mark.browser


def current_code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def test_advisor_signs_in_with_a_totp_code(
    live_server, page, reference_data, make_chamber, make_user
):
    advisor = make_user("conseillere", User.Role.ADVISOR, make_chamber("cci-77", "77"))
    device = TOTPDeviceFactory(user=advisor, name="téléphone", confirmed=True)

    page.goto(f"{live_server.url}/")
    page.click("text=Se connecter")
    page.fill("#id_username", "conseillere")
    page.fill("#id_password", "pw-test-123")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Code de vérification')")
    assert "Espace conseiller" not in page.content()

    right = current_code(device)
    page.fill("#id_code", "000000" if right != "000000" else "111111")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Code de vérification incorrect")
    assert "Se déconnecter" not in page.content()

    page.wait_for_timeout(1100)  # django-otp makes the next try wait a second
    page.fill("#id_code", current_code(device))
    page.click("button[type=submit]")
    page.wait_for_selector("text=Espace conseiller")
    assert "CCI cci-77" in page.content()

    page.click("text=Double authentification")
    page.wait_for_selector("text=La double authentification est activée")
