"""Signing in and out through the site's own pages, as a person does (the password of every test
user: ``tests.factories.PASSWORD``)."""

from __future__ import annotations

from tests.factories import PASSWORD


def sign_in(page, base: str, username: str) -> None:
    """Sign in from the login page of the live server at ``base``; back once the page offers
    « Se déconnecter »."""
    page.goto(f"{base}/comptes/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Se déconnecter")


def sign_out(page) -> None:
    page.click("text=Se déconnecter")
    page.wait_for_selector("a:has-text('Se connecter')")
