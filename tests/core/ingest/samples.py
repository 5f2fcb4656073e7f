"""Real sample files of each accepted type, built in the test (no binary fixtures checked in)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import docx


def make_pdf(pages: list[str]) -> bytes:
    """A minimal, valid PDF with one Helvetica text line per input line (xref included).

    pypdf cannot draw text, so the few objects a text PDF needs are written by hand.
    """

    def escape(line: str) -> str:
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        (
            f"<< /Type /Pages /Kids [{' '.join(f'{4 + 2 * i} 0 R' for i in range(len(pages)))}]"
            f" /Count {len(pages)} >>"
        ).encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for index, text in enumerate(pages):
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        ops += [f"({escape(line)}) Tj T*" for line in text.split("\n")]
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(
            (
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
                f" /Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * index} 0 R >>"
            ).encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def make_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("Returns policy", level=1)
    document.add_paragraph("Items can be returned within 30 days of delivery.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Item"
    table.cell(0, 1).text = "Window"
    table.cell(1, 0).text = "Shoes"
    table.cell(1, 1).text = "60 days"
    document.add_paragraph("Refunds are paid to the original card.")
    document.save(str(path))
    return path


def make_zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


SAMPLE_TEXT = {
    "txt": "\ufeffPlain notes.\r\nSecond line with café.\r\n",
    "md": "# Title\n\nSome *markdown* text.\n\n## Section\n\n- item one\n- item two\n",
    "html": (
        "<!doctype html><html><head><title>Shop</title><style>p {color: red}</style>"
        "<script>var secret = 1;</script></head><body><h1>Welcome</h1>"
        "<p>Open <b>9&ndash;5</b> daily.</p><ul><li>Coffee</li><li>Tea</li></ul></body></html>"
    ),
    "csv": "name,price,stock\nWidget,9.99,4\nGadget,19.50,0\n",
    "json": json.dumps({"faq": [{"q": "Do you ship abroad?", "a": "Yes, to the EU."}]}),
}
