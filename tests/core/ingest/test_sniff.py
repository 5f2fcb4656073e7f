"""Upload type detection: name and content must agree."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.ingest import ACCEPTED, SNIFF_BYTES, EmptyFile, UnsupportedType, sniff_type
from tests.core.ingest.samples import make_pdf, make_zip


def head_of(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(SNIFF_BYTES)


@pytest.mark.parametrize("kind", ACCEPTED)
def test_accepts_each_type_from_a_real_file(fx_samples: dict[str, Path], kind: str) -> None:
    path = fx_samples[kind]

    assert sniff_type(head_of(path), path.name) == kind
    assert sniff_type(head_of(path), path.name, path=path) == kind


@pytest.mark.parametrize(
    ("filename", "kind"),
    [("NOTES.TXT", "txt"), ("readme.markdown", "md"), ("page.htm", "html"), ("a.b.csv", "csv")],
)
def test_extension_aliases_and_case(filename: str, kind: str) -> None:
    head = b"[1, 2]" if kind == "json" else b"some text, here"

    assert sniff_type(head, filename) == kind


def test_rejects_an_executable_by_name() -> None:
    with pytest.raises(UnsupportedType) as caught:
        sniff_type(b"MZ\x90\x00\x03\x00\x00\x00", "report.exe")

    assert str(caught.value) == (
        "report.exe: unsupported file type; accepted: txt, md, html, pdf, docx, csv, json"
    )


def test_rejects_a_name_without_extension() -> None:
    with pytest.raises(UnsupportedType, match="unsupported file type"):
        sniff_type(b"hello", "README")


def test_rejects_a_spoofed_pdf() -> None:
    with pytest.raises(UnsupportedType, match=r"report\.pdf: not a valid PDF.*Windows program"):
        sniff_type(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "report.pdf")
    with pytest.raises(UnsupportedType, match="not a valid PDF"):
        sniff_type(b"just some text pretending", "fake.pdf")


def test_rejects_binary_named_as_text() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))

    with pytest.raises(UnsupportedType, match=r"notes\.txt: the content is a PNG image, not text"):
        sniff_type(png, "notes.txt")
    with pytest.raises(UnsupportedType, match=r"not text|binary"):
        sniff_type(bytes(range(256)) * 4, "data.txt")
    with pytest.raises(UnsupportedType, match="a program"):
        sniff_type(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 32, "tool.md")


def test_rejects_text_with_nul_bytes_even_if_valid_utf8() -> None:
    with pytest.raises(UnsupportedType, match="binary"):
        sniff_type(b"abc\x00def\x00" * 20, "data.csv")


def test_rejects_a_pdf_named_as_text() -> None:
    with pytest.raises(UnsupportedType, match="is a PDF document, not text"):
        sniff_type(make_pdf(["hello"]), "manual.txt")


def test_rejects_non_utf8_text() -> None:
    latin1 = "Prix: 10 € — très cher".encode("cp1252")
    utf16 = "hello world".encode("utf-16")

    with pytest.raises(UnsupportedType, match="UTF-8"):
        sniff_type(latin1, "prices.csv")
    with pytest.raises(UnsupportedType, match="UTF-8"):
        sniff_type(utf16, "hello.txt")


def test_utf8_with_bom_and_a_character_cut_by_the_head_is_accepted() -> None:
    data = "\ufeff".encode() + "naïve café ".encode() * 10
    cut = data + "é".encode()[:1]  # head ended in the middle of a character

    assert sniff_type(data, "menu.txt") == "txt"
    assert sniff_type(cut, "menu.txt") == "txt"


def test_json_must_look_like_json() -> None:
    assert sniff_type(b'\xef\xbb\xbf  {"a": 1}', "a.json") == "json"
    with pytest.raises(UnsupportedType, match="does not look like JSON"):
        sniff_type(b"name,price\nx,1\n", "data.json")


def test_empty_files_are_rejected() -> None:
    with pytest.raises(EmptyFile, match="empty"):
        sniff_type(b"", "empty.pdf")
    with pytest.raises(EmptyFile, match="no text"):
        sniff_type(b"  \n\t\n", "blank.md")


def test_docx_must_be_a_zip_with_a_word_document(
    tmp_path: Path, fx_write: Callable[[str, bytes], Path]
) -> None:
    plain_zip = make_zip(tmp_path / "archive.docx", {"readme.txt": "hi"})
    workbook = make_zip(
        tmp_path / "sheet.docx", {"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<x/>"}
    )
    legacy = fx_write("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)

    with pytest.raises(UnsupportedType, match="not a valid Word document"):
        sniff_type(head_of(plain_zip), plain_zip.name, path=plain_zip)
    with pytest.raises(UnsupportedType, match="not a valid Word document"):
        sniff_type(head_of(plain_zip), plain_zip.name)
    with pytest.raises(UnsupportedType, match=r"Excel workbook"):
        sniff_type(head_of(workbook), workbook.name)
    with pytest.raises(UnsupportedType, match=r"old-style Word file \(\.doc\)"):
        sniff_type(head_of(legacy), legacy.name)
    with pytest.raises(UnsupportedType, match="not a valid Word document"):
        sniff_type(b"%PDF-1.4 not a zip", "letter.docx")


def test_docx_found_in_a_truncated_head(fx_samples: dict[str, Path]) -> None:
    data = fx_samples["docx"].read_bytes()
    # The first entries only: the central directory at the end is not in the head.
    head = data[: data.index(b"word/document.xml") + 200]

    assert sniff_type(head, "contract.docx") == "docx"


def test_damaged_zip_on_disk_is_rejected(fx_write: Callable[[str, bytes], Path]) -> None:
    path = fx_write("broken.docx", b"PK\x03\x04" + b"\x00" * 100)

    with pytest.raises(UnsupportedType, match="damaged"):
        sniff_type(head_of(path), path.name, path=path)


def test_messages_show_only_the_file_name() -> None:
    with pytest.raises(UnsupportedType) as caught:
        sniff_type(b"x", "../../etc/secret/passwd.exe")

    assert str(caught.value).startswith("passwd.exe: ")
    assert "etc" not in str(caught.value)
