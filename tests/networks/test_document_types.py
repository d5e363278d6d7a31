"""Issue 17.10: network documents accept only an allow-list of file types, checked on the extension
and on the content, with a size limit; refused files are not stored and the animator is told why."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from maillage.networks import services
from maillage.networks.models import NetworkDocument
from tests.networks.test_networks import club  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
ODS = _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"})
ACCEPTED = {
    "compte-rendu.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
    "photo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "photo.JPG": b"\xff\xd8\xff\xe0\x00\x10JFIF",
    "ancien.doc": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 32,
    "charte.docx": DOCX,
    "budget.ods": ODS,
    "membres.csv": b"nom;ville\nScierie;Melun\n",
    "notes.txt": "Réunion du club à 18 h, café offert".encode("cp1252"),
}
REFUSED = {
    "outil.exe": b"MZ\x90\x00",  # not in the list
    "page.html": b"<html><script>alert(1)</script>",  # not in the list
    "faux.pdf": b"MZ\x90\x00\x03\x00\x00\x00",  # an executable renamed
    "faux.png": b"%PDF-1.4",  # another type renamed
    "faux.docx": _zip({"evil.js": b"alert(1)"}),  # a zip, but not a Word document
    "faux.txt": b"<!DOCTYPE html><script>alert(1)</script>",  # markup as text
    "binaire.csv": b"\x7fELF\x02\x01\x01\x00",
    "sans-extension": b"%PDF-1.4",
}


def _upload(client, network, name, data):
    return client.post(
        reverse("network-document", args=[network.pk]),
        {"title": "Document", "file": SimpleUploadedFile(name, data)},
        follow=True,
    )


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_allowed_documents_are_stored(client, club, name):  # noqa: F811
    client.force_login(club["animator"])
    _upload(client, club["club"], name, ACCEPTED[name])
    assert NetworkDocument.objects.count() == 1


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_other_files_are_refused_with_a_french_message(client, club, name):  # noqa: F811
    client.force_login(club["animator"])
    page = _upload(client, club["club"], name, REFUSED[name]).content.decode()
    assert not NetworkDocument.objects.exists()
    assert "Type de fichier non accepté" in page or "ne correspond pas" in page


def test_documents_over_the_size_limit_are_refused(client, club, monkeypatch):  # noqa: F811
    monkeypatch.setattr(services, "MAX_DOCUMENT_BYTES", 1024)
    client.force_login(club["animator"])
    page = _upload(client, club["club"], "gros.pdf", b"%PDF-1.7\n" + b"0" * 2000).content.decode()
    assert not NetworkDocument.objects.exists()
    assert "dépasse" in page
