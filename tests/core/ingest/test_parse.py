"""Text extraction for every accepted type, and customer-readable failures."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from core.ingest import ParseError, parse
from tests.core.ingest.samples import make_pdf


def test_txt_drops_bom_and_normalises_line_endings(fx_samples: dict[str, Path]) -> None:
    assert parse(fx_samples["txt"], "txt") == "Plain notes.\nSecond line with café."


def test_markdown_is_kept_as_markdown(fx_samples: dict[str, Path]) -> None:
    text = parse(fx_samples["md"], "md")

    assert text.startswith("# Title\n\nSome *markdown* text.")
    assert "- item two" in text


def test_html_keeps_visible_text_only(fx_samples: dict[str, Path]) -> None:
    text = parse(fx_samples["html"], "html")

    assert "Welcome" in text
    assert "Open 9\u20135 daily." in text  # &ndash; decoded
    assert "Coffee" in text and "Tea" in text
    assert "secret" not in text
    assert "color" not in text


def test_json_becomes_pretty_text(fx_samples: dict[str, Path]) -> None:
    text = parse(fx_samples["json"], "json")

    assert text == json.dumps(
        {"faq": [{"q": "Do you ship abroad?", "a": "Yes, to the EU."}]}, indent=2
    )


def test_csv_rows_become_labelled_lines(fx_samples: dict[str, Path]) -> None:
    assert parse(fx_samples["csv"], "csv") == (
        "name: Widget; price: 9.99; stock: 4\nname: Gadget; price: 19.50; stock: 0"
    )


def test_csv_without_header_and_other_delimiters(
    fx_write: Callable[[str, bytes], Path],
) -> None:
    plain = fx_write("plain.csv", b"10,20,30\n40,50,60\n")
    semicolons = fx_write("semi.csv", b"city;people\nLyon;522000\nGent;265000\n")
    repeated = fx_write("pairs.csv", b"yes|yes\nno|maybe\n")

    assert parse(plain, "csv") == "10, 20, 30\n40, 50, 60"
    assert parse(semicolons, "csv") == "city: Lyon; people: 522000\ncity: Gent; people: 265000"
    assert parse(repeated, "csv") == "yes, yes\nno, maybe"


def test_pdf_text_from_every_page(fx_samples: dict[str, Path]) -> None:
    text = parse(fx_samples["pdf"], "pdf")

    assert "Warranty terms" in text
    assert "Second page: two years cover." in text
    assert text.index("Warranty") < text.index("Second page")


def test_docx_paragraphs_and_tables_in_order(fx_samples: dict[str, Path]) -> None:
    text = parse(fx_samples["docx"], "docx")

    assert text == (
        "Returns policy\n\n"
        "Items can be returned within 30 days of delivery.\n\n"
        "Item | Window\nShoes | 60 days\n\n"
        "Refunds are paid to the original card."
    )


def test_parsing_is_deterministic(fx_samples: dict[str, Path]) -> None:
    for kind, path in fx_samples.items():
        assert parse(path, kind) == parse(path, kind)


def test_corrupt_pdf_is_a_parse_error(fx_write: Callable[[str, bytes], Path]) -> None:
    garbage = fx_write("broken.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40)
    truncated = fx_write("cut.pdf", make_pdf(["hello"])[:40])

    for path in (garbage, truncated):
        with pytest.raises(ParseError) as caught:
            parse(path, "pdf")
        assert "PDF" in str(caught.value)
        assert "Traceback" not in str(caught.value)


def encrypt(pdf: bytes, *, user_password: str, owner_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    # RC4 needs no optional crypto library, so the test runs everywhere.
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_password_protected_pdf_is_a_parse_error(fx_write: Callable[[str, bytes], Path]) -> None:
    path = fx_write(
        "locked.pdf", encrypt(make_pdf(["secret"]), user_password="pw", owner_password="o")
    )

    with pytest.raises(ParseError, match="password-protected"):
        parse(path, "pdf")


def test_pdf_locked_only_against_editing_is_read(fx_write: Callable[[str, bytes], Path]) -> None:
    data = encrypt(make_pdf(["Readable text"]), user_password="", owner_password="owner")
    path = fx_write("restricted.pdf", data)

    assert "Readable text" in parse(path, "pdf")


def test_pdf_without_text_says_so(fx_write: Callable[[str, bytes], Path]) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    path = fx_write("scan.pdf", out.getvalue())

    with pytest.raises(ParseError, match="no selectable text"):
        parse(path, "pdf")


def test_corrupt_docx_is_a_parse_error(
    fx_write: Callable[[str, bytes], Path], tmp_path: Path
) -> None:
    not_a_zip = fx_write("broken.docx", b"PK\x03\x04" + b"\x00" * 200)
    bad_xml = tmp_path / "badxml.docx"
    with zipfile.ZipFile(bad_xml, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types")
        archive.writestr("word/document.xml", "<w:document>unclosed")

    for path in (not_a_zip, bad_xml):
        with pytest.raises(ParseError, match="Word document is damaged"):
            parse(path, "docx")


def test_invalid_json_points_at_the_problem(fx_write: Callable[[str, bytes], Path]) -> None:
    path = fx_write("bad.json", b'{"a": 1,\n "b": }')

    with pytest.raises(ParseError, match=r"not valid JSON \(line 2, column 7"):
        parse(path, "json")


def test_deeply_nested_json_does_not_crash(fx_write: Callable[[str, bytes], Path]) -> None:
    path = fx_write("deep.json", b"[" * 100_000 + b"]" * 100_000)

    with pytest.raises(ParseError, match="nested too deeply"):
        parse(path, "json")


@pytest.mark.parametrize("kind", ["txt", "md", "html", "csv", "json"])
def test_empty_content_is_a_parse_error(fx_write: Callable[[str, bytes], Path], kind: str) -> None:
    content = {"html": b"<html><body>  </body></html>", "json": b"", "csv": b"\n,,\n"}
    path = fx_write(f"empty.{kind}", content.get(kind, b"  \n \n"))

    with pytest.raises(ParseError):
        parse(path, kind)


def test_non_utf8_text_is_a_parse_error(fx_write: Callable[[str, bytes], Path]) -> None:
    path = fx_write("latin.txt", "déjà vu".encode("latin-1"))

    with pytest.raises(ParseError, match="UTF-8"):
        parse(path, "txt")


def test_a_missing_file_is_not_blamed_on_the_customer(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        parse(tmp_path / "gone.txt", "txt")
    with pytest.raises(FileNotFoundError):
        parse(tmp_path / "gone.pdf", "pdf")


def test_docx_zip_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    block = b" " * (1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            for _ in range(300):  # 300 MB unpacked, ~300 KB on disk
                member.write(block)

    with pytest.raises(ParseError, match="too large once uncompressed"):
        parse(path, "docx")
