"""Validators and hooks that keep the admin's generic table editing within our rules.

Piccolo Admin edits rows directly (PiccoloCRUD). Whatever must go through core/ (keys,
password hashes) is refused here, with a message saying where to do it instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from piccolo.columns import Column
from piccolo_api.crud.endpoints import PiccoloCRUD
from starlette.exceptions import HTTPException
from starlette.requests import Request

from core.errors import DomainError
from core.tenancy.accounts import normalise_email
from core.tenancy.chatbots import normalise_origin

Validator = Callable[..., None]


def refuse(reason: str) -> Validator:
    """A validator that always says no. 405 because the admin UI shows its `detail` as is."""

    def validator(piccolo_crud: PiccoloCRUD, request: Request) -> None:
        raise HTTPException(status_code=405, detail=reason)

    return validator


def _by_name(values: dict[Any, Any]) -> dict[str, Any]:
    # PiccoloCRUD hands patch hooks a dict keyed by Column objects.
    return {(k._meta.name if isinstance(k, Column) else str(k)): k for k in values}


def keep_password_hash(row_id: Any, values: dict[Any, Any]) -> dict[Any, Any]:
    """The hash is never shown, so the admin's edit form posts it back empty; dropping that
    keeps the user's password. A non-empty value is refused: hashes are made by core."""
    keys = _by_name(values)
    if "password_hash" in keys:
        if values[keys["password_hash"]]:
            raise HTTPException(
                status_code=400,
                detail="password_hash is read-only; passwords are set through the customer API",
            )
        del values[keys["password_hash"]]
    if (email := keys.get("email")) is not None and values[email]:
        values[email] = normalise_email(values[email])
    return values


def clean_allowed_origins(row_id: Any, values: dict[Any, Any]) -> dict[Any, Any]:
    """Origins are compared exactly by the widget check, so store them as core does."""
    column = _by_name(values).get("allowed_origins")
    if column is None or values[column] is None:
        return values
    origins = values[column]
    try:
        if isinstance(origins, str):
            origins = json.loads(origins)
        if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
            raise HTTPException(status_code=400, detail="allowed_origins must be a list of origins")
        values[column] = sorted({normalise_origin(o) for o in origins})
    except json.JSONDecodeError:
        raise HTTPException(status_code=400, detail="allowed_origins must be JSON") from None
    except DomainError as exc:
        raise HTTPException(status_code=400, detail=exc.detail) from None
    return values
