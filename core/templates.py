"""The Jinja2 environment over templates/ (autoescaped: values may come from customers)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "xml"]),
        keep_trailing_newline=False,
    )


def render(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context).strip()
