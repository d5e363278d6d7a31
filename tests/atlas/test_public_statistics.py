"""The public home's statistics go through the shared secrecy rule (engine.secrecy): counts
of establishments per chamber, published from five on, never a single company's figure."""

import re

import pytest

pytestmark = pytest.mark.django_db


def _row(html: str, chamber: str) -> list[str]:
    row = re.search(rf"<tr><td>{re.escape(chamber)}</td>(.*?)</tr>", html, re.S)
    assert row, chamber
    return re.findall(r'<td class="num">(.*?)</td>', row.group(1), re.S)


def test_home_publishes_five_establishments_and_hides_four(client, territory, make_establishment):
    for i in range(4):
        make_establishment("77288", name=f"Scierie {i}")  # 77: 1 + 4 = 5
    for i in range(3):
        make_establishment("91228", name=f"Atelier {i}")  # 91: 1 + 3 = 4
    html = client.get("/").content.decode()
    assert _row(html, territory["chambers"][0].name)[0] == "5"
    assert "secret statistique" in _row(html, territory["chambers"][1].name)[0]
    assert "Scierie 0" not in html
