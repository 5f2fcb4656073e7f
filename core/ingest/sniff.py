"""Decide what an upload is from its name *and* its first bytes.

The name alone is a claim made by whoever uploaded the file; the content has to agree
with it before a parser ever sees the file. Messages are written for the customer who
uploaded it (the API answers them as 415 problem details).
"""

from __future__ import annotations

import codecs
import re
import struct
import zipfile
from pathlib import Path, PurePath

ACCEPTED: tuple[str, ...] = ("txt", "md", "html", "pdf", "docx", "csv", "json")
TEXT_KINDS = frozenset({"txt", "md", "html", "csv", "json"})
# How many leading bytes callers should pass. Enough to see a DOCX's first zip
# entries (word/document.xml comes early in files written by Word, LibreOffice and
# python-docx) and to judge whether text is really text.
SNIFF_BYTES = 64 * 1024

_EXTENSIONS: dict[str, str] = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".csv": "csv",
    ".json": "json",
}

# Signatures of common formats we do not take, to say what a mislabelled file is.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or Office file"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a program"),
    (b"\xcf\xfa\xed\xfe", "a program"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"RIFF", "a media file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Office file (.doc/.xls/.ppt)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"{\\rtf", "an RTF document"),
    (b"%!PS", "a PostScript file"),
    (b"\x00\x00\x00", "a binary file"),
)

# Signatures no real text file starts with; weaker ones ("MZ", "RIFF") only serve to
# describe content that already failed the text checks.
_UNMISTAKABLE = frozenset(
    {b"%PDF-", b"PK\x03\x04", b"\x7fELF", b"\x89PNG\r\n\x1a\n", b"{\\rtf", b"%!PS"}
)

_ZIP_LOCAL = b"PK\x03\x04"
_ZIP_CENTRAL = b"PK\x01\x02"
_OTHER_OFFICE = {
    "xl/workbook.xml": "an Excel workbook (.xlsx)",
    "ppt/presentation.xml": "a PowerPoint presentation (.pptx)",
    "content.xml": "an OpenDocument file",
}
# C0 controls other than tab, LF, FF and CR: plain text essentially never has them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class UnsupportedType(ValueError):
    """The upload is not one of the accepted types, or its content contradicts its name."""


class EmptyFile(UnsupportedType):
    """The upload has no bytes at all (the API may prefer 422 over 415 for it)."""


def _display_name(filename: str) -> str:
    # Only the final component, bounded: the message is echoed back to the client.
    name = PurePath(filename.replace("\\", "/")).name or "upload"
    return name if len(name) <= 120 else name[:117] + "..."


def _accepted() -> str:
    return ", ".join(ACCEPTED)


def _describe(head: bytes, *, unmistakable_only: bool = False) -> str | None:
    for magic, what in _MAGIC:
        if head.startswith(magic) and (not unmistakable_only or magic in _UNMISTAKABLE):
            return what
    return None


def kind_from_name(filename: str) -> str | None:
    """The kind a file name claims, or None when we do not take that extension."""
    return _EXTENSIONS.get(PurePath(filename.replace("\\", "/")).suffix.lower())


def sniff_type(head: bytes, filename: str, *, path: Path | None = None) -> str:
    """Return one of :data:`ACCEPTED` for an upload, or raise :class:`UnsupportedType`.

    ``head`` is the start of the file (:data:`SNIFF_BYTES` is plenty; the whole file is
    fine). When the upload is already on disk, pass ``path`` too: a DOCX is then checked
    against its zip directory instead of only the entries that fit in ``head``.
    """
    name = _display_name(filename)
    kind = kind_from_name(filename)
    if kind is None:
        raise UnsupportedType(f"{name}: unsupported file type; accepted: {_accepted()}")
    if not head:
        raise EmptyFile(f"{name}: the file is empty")
    if kind == "pdf":
        _check_pdf(head, name)
    elif kind == "docx":
        _check_docx(head, name, path)
    else:
        _check_text(head, name, kind)
    return kind


def _check_pdf(head: bytes, name: str) -> None:
    if not head.startswith(b"%PDF-"):
        seen = _describe(head)
        found = f" (it looks like {seen})" if seen else ""
        raise UnsupportedType(f"{name}: not a valid PDF document{found}")


def _check_docx(head: bytes, name: str, path: Path | None) -> None:
    if not head.startswith(_ZIP_LOCAL):
        seen = _describe(head)
        if seen and "legacy Office" in seen:
            raise UnsupportedType(
                f"{name}: this is an old-style Word file (.doc); save it as .docx and upload again"
            )
        found = f" (it looks like {seen})" if seen else ""
        raise UnsupportedType(f"{name}: not a valid Word document (.docx){found}")
    names = _zip_names_on_disk(path, name) if path is not None else _zip_names_in_head(head)
    if "word/document.xml" in names:
        return
    for member, what in _OTHER_OFFICE.items():
        if member in names:
            raise UnsupportedType(f"{name}: this is {what}, not a Word document (.docx)")
    raise UnsupportedType(f"{name}: not a valid Word document (.docx)")


def _zip_names_on_disk(path: Path, name: str) -> set[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsupportedType(f"{name}: the Word document is damaged and cannot be opened") from exc


def _zip_names_in_head(head: bytes) -> set[str]:
    """Entry names from the zip headers found in ``head``.

    Local headers (each entry's prefix) and, when the whole file was passed, the
    central directory are both read; a stray signature inside compressed data only
    yields a junk name, which is harmless because we look for specific names.
    """
    names: set[str] = set()
    for signature, name_at, length_at in ((_ZIP_LOCAL, 30, 26), (_ZIP_CENTRAL, 46, 28)):
        offset = head.find(signature)
        while offset != -1 and offset + name_at <= len(head):
            (length,) = struct.unpack_from("<H", head, offset + length_at)
            raw = head[offset + name_at : offset + name_at + length]
            names.add(raw.decode("utf-8", errors="replace"))
            offset = head.find(signature, offset + 4)
    return names


def _check_text(head: bytes, name: str, kind: str) -> None:
    label = kind.upper() if kind in ("html", "csv", "json") else "text"
    seen = _describe(head, unmistakable_only=True)
    if seen:
        raise UnsupportedType(f"{name}: the content is {seen}, not {label}")
    what = _describe(head) or "binary data"
    # An incremental decoder tolerates a multi-byte character cut at the end of head;
    # "utf-8-sig" drops a byte-order mark.
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        text = decoder.decode(head, final=False)
    except UnicodeDecodeError as exc:
        if _describe(head):
            raise UnsupportedType(f"{name}: the content is {what}, not {label}") from exc
        raise UnsupportedType(
            f"{name}: the content is not {label} encoded as UTF-8; save it as UTF-8 and upload again"
        ) from exc
    controls = len(_CONTROL.findall(text))
    if "\x00" in text or controls > max(8, len(text) // 100):
        raise UnsupportedType(f"{name}: the content is {what}, not {label}")
    if kind == "json":
        stripped = text.lstrip()
        if stripped and stripped[0] not in "{[":
            raise UnsupportedType(f"{name}: the content does not look like JSON")
    if not text.strip():
        raise EmptyFile(f"{name}: the file contains no text")
