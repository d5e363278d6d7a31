"""Uploaded files: an allow-list of types checked on the extension AND on the content (magic
bytes), so that a renamed executable or HTML page is not stored and served as a "document"."""

from __future__ import annotations

import zipfile

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office (doc, xls, ppt)
ZIP = b"PK\x03\x04"
ODF_MIMETYPES = {
    "odt": b"application/vnd.oasis.opendocument.text",
    "ods": b"application/vnd.oasis.opendocument.spreadsheet",
    "odp": b"application/vnd.oasis.opendocument.presentation",
}
OOXML_PARTS = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}
SIGNATURES = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "doc": (OLE2,),
    "xls": (OLE2,),
    "ppt": (OLE2,),
}
TEXT_EXTENSIONS = {"txt", "csv"}
DOCUMENT_EXTENSIONS = frozenset({*SIGNATURES, *ODF_MIMETYPES, *OOXML_PARTS, *TEXT_EXTENSIONS})
# Starts of content that a text file must not have (binary formats and markup a browser runs).
_NOT_TEXT = (b"%PDF-", ZIP, OLE2, b"\x7fELF", b"MZ", b"<!doctype", b"<html", b"<script", b"<svg")


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _read(upload, size: int | None = None) -> bytes:
    upload.seek(0)
    data = upload.read() if size is None else upload.read(size)
    upload.seek(0)
    return data


def _zip_matches(upload, ext: str) -> bool:
    if _read(upload, 4) != ZIP:
        return False
    try:
        with zipfile.ZipFile(upload) as archive:
            names = archive.namelist()
            if ext in ODF_MIMETYPES:
                return (
                    "mimetype" in names and archive.read("mimetype").strip() == ODF_MIMETYPES[ext]
                )
            return "[Content_Types].xml" in names and any(
                n.startswith(OOXML_PARTS[ext]) for n in names
            )
    except (zipfile.BadZipFile, KeyError, OSError):
        return False
    finally:
        upload.seek(0)


def _text_matches(upload) -> bool:
    head = _read(upload, 64 * 1024)
    if b"\x00" in head or head.lstrip().lower().startswith(_NOT_TEXT):
        return False
    # a multi-byte character may be cut at the end of a full sample
    sample = head if len(head) < 64 * 1024 else head[:-4]
    for encoding in ("utf-8", "cp1252"):
        try:
            sample.decode(encoding)
        except UnicodeDecodeError:
            continue
        return True
    return False


def content_matches(upload, ext: str) -> bool:
    """Whether the file's bytes are what its extension says."""
    if ext in SIGNATURES:
        return _read(upload, 16).startswith(SIGNATURES[ext])
    if ext in ODF_MIMETYPES or ext in OOXML_PARTS:
        return _zip_matches(upload, ext)
    if ext in TEXT_EXTENSIONS:
        return _text_matches(upload)
    return False


def check_document(upload, max_bytes: int, allowed=DOCUMENT_EXTENSIONS) -> None:
    """Refuse, with a French message, a file of a type not allowed, whose content does not match
    its extension, or larger than ``max_bytes``."""
    ext = _extension(upload.name)
    if ext not in allowed:
        raise ValidationError(
            _("Type de fichier non accepté (« %(name)s ») : %(allowed)s.")
            % {"name": upload.name, "allowed": ", ".join(sorted(allowed))}
        )
    if upload.size > max_bytes:
        raise ValidationError(
            _("« %(name)s » dépasse %(max)s.")
            % {"name": upload.name, "max": filesizeformat(max_bytes)}
        )
    if not content_matches(upload, ext):
        raise ValidationError(
            _("Le contenu de « %(name)s » ne correspond pas à un fichier .%(ext)s.")
            % {"name": upload.name, "ext": ext}
        )
