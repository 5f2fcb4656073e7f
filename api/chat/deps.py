"""The chat engine: one per API process, built at start-up."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from core.chat.engine import ChatEngine


def provide_engine(state: State) -> ChatEngine:
    return state.chat


CHAT_DEPENDENCIES = {"engine": Provide(provide_engine, sync_to_thread=False)}
Engine = NamedDependency[ChatEngine]
