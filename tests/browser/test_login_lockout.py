"""Someone guesses a password ten times: the account is locked, with a French message, and the right
password is refused while it lasts."""

import pytest

from maillage.accounts.models import User

pytestmark = pytest.mark.browser


def test_ten_wrong_passwords_lock_the_account(live_server, page, reference_data, make_user):
    make_user("victime", User.Role.COMPANY)
    page.goto(f"{live_server.url}/")
    page.click("text=Se connecter")
    for attempt in range(9):
        page.fill("#id_username", "victime")
        page.fill("#id_password", f"devinette-{attempt}")
        page.click("button[type=submit]")
        page.wait_for_selector("text=Identifiant ou mot de passe incorrect")
    page.fill("#id_username", "victime")
    page.fill("#id_password", "devinette-9")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Compte temporairement bloqué")
    assert "10 essais" in page.content()

    page.goto(f"{live_server.url}/comptes/login/")
    page.fill("#id_username", "victime")
    page.fill("#id_password", "pw-test-123")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Compte temporairement bloqué")
    assert "Se déconnecter" not in page.content()
