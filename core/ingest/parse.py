"""Turn an accepted upload into plain text.

Every parser failure becomes :class:`ParseError` with a message meant for the customer
(the worker stores it on the failed document, prefixed with the file name). Damaged
files make third-party parsers raise almost anything, so each parser is fenced with a
broad ``except``: a corrupt PDF must end as a failed document, never as a dead worker.
I/O errors (a missing upload) are not the customer's doing and propagate unchanged so
the worker can retry.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docx.table import Table

log = logging.getLogger(__name__)

_BLANK_RUNS = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t\f\v]+\n")
_CSV_SAMPLE = 16 * 1024
_DOCX_MAX_UNPACKED = 256 * 1024 * 1024
_NUMBER = re.compile(r"[-+]?[\d.,\s]*\d[\d.,\s%]*")


class ParseError(Exception):
    """The file was accepted but its text cannot be extracted; ``str()`` is customer-readable."""


def parse(path: Path, kind: str) -> str:
    """Extract the text of ``path``, a file already sniffed as ``kind``."""
    parser = _PARSERS.get(kind)
    if parser is None:
        raise ValueError(f"no parser for kind {kind!r}")
    # Fail on a missing upload here, before a parser turns it into "damaged file".
    path.stat()
    try:
        text = parser(path)
    except (ParseError, OSError):
        raise
    except Exception as exc:
        # Anything else from a third-party parser means a damaged file; the detail goes
        # to the operator's log, the customer gets a sentence.
        log.warning("parsing %s as %s failed", path, kind, exc_info=True)
        raise ParseError(
            f"the file could not be read as {kind.upper()}; it may be damaged"
        ) from exc
    text = _tidy(text)
    if not text:
        raise ParseError("the file contains no text to learn from")
    return text


def _tidy(text: str) -> str:
    """Normalise line endings and blank runs so equal documents give equal chunks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_RUNS.sub("\n\n", text).strip()


def _read_utf8(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError("the file is not UTF-8 text; save it as UTF-8 and upload again") from exc


def _parse_text(path: Path) -> str:
    return _read_utf8(path)


def _parse_html(path: Path) -> str:
    from inscriptis import get_text  # lxml-backed; keeps lists and tables readable

    return get_text(_read_utf8(path))


def _parse_json(path: Path) -> str:
    raw = _read_utf8(path)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"the file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    except RecursionError as exc:
        raise ParseError("the JSON is nested too deeply to read") from exc
    return json.dumps(data, indent=2, ensure_ascii=False)


def _parse_csv(path: Path) -> str:
    """Rows as lines; with a header row, each value is labelled with its column.

    "price: 9.99" retrieves and reads far better than a bare "9.99" once a chunk no
    longer contains the header line.
    """
    raw = _read_utf8(path)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            raw[:_CSV_SAMPLE], delimiters=",;\t|"
        )
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [
            [cell.strip() for cell in row]
            for row in csv.reader(io.StringIO(raw, newline=""), dialect)
            if any(cell.strip() for cell in row)
        ]
    except csv.Error as exc:
        raise ParseError(f"the CSV file is malformed: {exc}") from exc
    if len(rows) < 2 or not _looks_like_header(rows[0]):
        return "\n".join(", ".join(row) for row in rows)
    header = rows[0]
    lines = []
    for row in rows[1:]:
        labelled = [
            f"{header[i] if i < len(header) else f'column {i + 1}'}: {cell}"
            for i, cell in enumerate(row)
            if cell
        ]
        lines.append("; ".join(labelled))
    return "\n".join(lines)


def _looks_like_header(row: list[str]) -> bool:
    """Most CSVs start with a header (pandas assumes one too); a first row that has
    empty, numeric or repeated cells is data. csv.Sniffer.has_header was tried and
    misjudges tables whose columns are all text or of equal width."""
    if not all(row):
        return False
    if len({cell.casefold() for cell in row}) != len(row):
        return False
    return not any(_NUMBER.fullmatch(cell) for cell in row)


def _parse_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            # Many PDFs are "encrypted" only against editing, with an empty password.
            try:
                opened = reader.decrypt("")
            except DependencyError as exc:
                raise ParseError(
                    "the PDF is encrypted with a method we cannot open; "
                    "save an unprotected copy and upload it again"
                ) from exc
            if not opened:
                raise ParseError(
                    "the PDF is password-protected; remove the password and upload it again"
                )
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except FileNotDecryptedError as exc:
        raise ParseError(
            "the PDF is password-protected; remove the password and upload it again"
        ) from exc
    except PdfReadError as exc:
        raise ParseError("the PDF is damaged and cannot be read") from exc
    text = "\n\n".join(page for page in pages if page)
    if not text.strip():
        raise ParseError(
            "the PDF has no selectable text (it may be scanned images; OCR is not supported)"
        )
    return text


def _parse_docx(path: Path) -> str:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    damaged = "the Word document is damaged and cannot be opened"
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise ParseError(damaged) from exc
    # python-docx inflates parts in memory; refuse a "zip bomb" before it does.
    if unpacked > _DOCX_MAX_UNPACKED:
        raise ParseError("the Word document is too large once uncompressed")
    try:
        document = docx.Document(str(path))
    except Exception as exc:
        raise ParseError(damaged) from exc
    blocks: list[str] = []
    # Body order matters: a table sits between the paragraphs that introduce it.
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            if block.text.strip():
                blocks.append(block.text)
        elif isinstance(block, Table):
            blocks.append(_docx_table(block))
    return "\n\n".join(block for block in blocks if block.strip())


def _docx_table(table: Table) -> str:
    lines = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            # A merged cell is handed out once per grid column it spans, as the same
            # underlying <w:tc>; keep one copy of its text.
            if previous is not None and cell._tc is previous._tc:
                continue
            previous = cell
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(lines)


_PARSERS: dict[str, Callable[[Path], str]] = {
    "txt": _parse_text,
    "md": _parse_text,
    "html": _parse_html,
    "json": _parse_json,
    "csv": _parse_csv,
    "pdf": _parse_pdf,
    "docx": _parse_docx,
}
