"""Base classes of every request and response schema (msgspec structs)."""

from __future__ import annotations

from typing import Annotated

import msgspec


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A request body: unknown fields are an error that names them."""


class Patch(Input):
    """A partial update: fields left out stay as they are."""

    def changes(self) -> dict[str, object]:
        return {
            name: value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not msgspec.UNSET
        }


class Output(msgspec.Struct, kw_only=True):
    """A response body: built explicitly, never a table row as is."""


Email = Annotated[
    str,
    msgspec.Meta(
        max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="An email address"
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
