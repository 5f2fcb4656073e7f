"""Dependencies shared by every controller."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from core.resources import Resources
from core.tenancy.principals import CustomerPrincipal


def provide_resources(state: State) -> Resources:
    return state.resources


def provide_principal(request: Request[Any, Any, Any]) -> CustomerPrincipal:
    return request.user


DEPENDENCIES = {
    "resources": Provide(provide_resources, sync_to_thread=False),
    "principal": Provide(provide_principal, sync_to_thread=False),
}

# Handler parameters name their dependencies explicitly (Litestar 3 drops inference).
Principal = NamedDependency[CustomerPrincipal]
AppResources = NamedDependency[Resources]
