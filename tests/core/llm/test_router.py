"""The LLM router against two loopback fakes, through the real `openai` client."""

from __future__ import annotations

import asyncio
import math
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest

from core.errors import InvalidInput
from core.llm import ChatRequest, Completion, Delta, Done, LLMError, LLMRouter, Usage
from core.settings import LLMProvider, load_settings
from tests.fakes.openai_server import FakeOpenAI, Reply, count_tokens, prompt_tokens

T = TypeVar("T")
MESSAGES = [
    {"role": "system", "content": "Answer from the passages. [1] We open at nine."},
    {"role": "user", "content": "When do you open?"},
]
DEFAULT_MODEL = "platform-default"


@pytest.fixture(scope="module")
def fx_fakes() -> Iterator[tuple[FakeOpenAI, FakeOpenAI]]:
    # Each fake insists on its own key, so a test also proves the right key went out.
    with FakeOpenAI(api_key="sk-primary") as primary, FakeOpenAI(api_key="sk-backup") as backup:
        yield primary, backup


@pytest.fixture(autouse=True)
def fx_clean_fakes(fx_fakes: tuple[FakeOpenAI, FakeOpenAI]) -> None:
    for fake in fx_fakes:
        fake.reset()


@pytest.fixture
def fx_primary(fx_fakes: tuple[FakeOpenAI, FakeOpenAI]) -> FakeOpenAI:
    return fx_fakes[0]


@pytest.fixture
def fx_backup(fx_fakes: tuple[FakeOpenAI, FakeOpenAI]) -> FakeOpenAI:
    return fx_fakes[1]


@pytest.fixture(scope="module")
def fx_providers(fx_fakes: tuple[FakeOpenAI, FakeOpenAI]) -> list[LLMProvider]:
    primary, backup = fx_fakes
    return [
        LLMProvider(
            name="primary",
            base_url=primary.base_url,
            api_key="sk-primary",
            models=["primary-small", "primary-large"],
        ),
        LLMProvider(name="backup", base_url=backup.base_url, api_key="sk-backup", models=[]),
    ]


@pytest.fixture(scope="module")
def fx_runner() -> Iterator[asyncio.Runner]:
    """One event loop for the module, so routers (and their connection pools, which
    belong to a loop) can be shared between tests: building a client costs ~80 ms."""
    with asyncio.Runner() as runner:
        yield runner


@pytest.fixture(scope="module")
def fx_router(fx_runner: asyncio.Runner, fx_providers: list[LLMProvider]) -> Iterator[LLMRouter]:
    router = LLMRouter(fx_providers, timeout=5.0, default_model=DEFAULT_MODEL)
    yield router
    fx_runner.run(router.aclose())


def closed_port_provider(name: str = "gone") -> LLMProvider:
    """A provider whose port refuses connections: bound, then released, nobody listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return LLMProvider(name=name, base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-x")


def with_router(
    runner: asyncio.Runner,
    providers: list[LLMProvider],
    use: Callable[[LLMRouter], Awaitable[T]],
    *,
    timeout: float = 5.0,
) -> T:
    """Run `use` against a router of its own (for providers or a timeout of its own)."""

    async def main() -> T:
        router = LLMRouter(providers, timeout=timeout, default_model=DEFAULT_MODEL)
        try:
            return await use(router)
        finally:
            await router.aclose()

    return runner.run(main())


def complete(runner: asyncio.Runner, router: LLMRouter, request: ChatRequest) -> Completion:
    return runner.run(router.complete(request))


async def collect(router: LLMRouter, request: ChatRequest) -> list[Delta | Done]:
    return [event async for event in router.stream(request)]


def stream(runner: asyncio.Runner, router: LLMRouter, request: ChatRequest) -> list[Delta | Done]:
    return runner.run(collect(router, request))


def reported_usage(text: str) -> Usage:
    """What the fake reports for MESSAGES answered with `text`."""
    return Usage(prompt_tokens(MESSAGES), count_tokens(text), estimated=False)


# -- complete ------------------------------------------------------------------------


def test_complete_through_one_provider(
    fx_primary: FakeOpenAI, fx_backup: FakeOpenAI, fx_runner: asyncio.Runner, fx_router: LLMRouter
) -> None:
    fx_primary.push("We open at nine [1].")

    result = complete(fx_runner, fx_router, ChatRequest(MESSAGES, temperature=0.2, max_tokens=64))

    assert result == Completion(
        text="We open at nine [1].",
        model="primary-small",
        provider="primary",
        usage=reported_usage("We open at nine [1]."),
    )
    assert result.usage.total_tokens == prompt_tokens(MESSAGES) + 5
    (sent,) = fx_primary.chat_requests
    assert sent.headers["authorization"] == "Bearer sk-primary"
    assert sent.body is not None
    assert sent.body["messages"] == MESSAGES
    assert sent.body["model"] == "primary-small"
    assert sent.body["temperature"] == 0.2
    assert sent.body["max_tokens"] == 64
    assert not sent.body.get("stream")
    assert fx_backup.chat_requests == []


@pytest.mark.parametrize("status", [500, 503, 429, 401, 404, 400])
def test_failed_call_falls_to_next_provider(
    status: int,
    fx_primary: FakeOpenAI,
    fx_backup: FakeOpenAI,
    fx_runner: asyncio.Runner,
    fx_router: LLMRouter,
) -> None:
    # 4xx too: the request passed validate(), so what is left is about that provider
    # (its key, its model names, its limits), and another one may well answer.
    fx_primary.push(Reply(status=status))
    fx_backup.push("From the backup.")

    result = complete(fx_runner, fx_router, ChatRequest(MESSAGES))

    assert (result.provider, result.text, result.model) == (
        "backup",
        "From the backup.",
        DEFAULT_MODEL,
    )
    # Our policy, not the SDK's: no retry on the failed provider before moving on.
    assert len(fx_primary.chat_requests) == 1
    assert fx_backup.chat_requests[0].headers["authorization"] == "Bearer sk-backup"


def test_timeout_falls_to_next_provider(
    fx_primary: FakeOpenAI, fx_runner: asyncio.Runner, fx_providers: list[LLMProvider]
) -> None:
    fx_primary.push(Reply(text="too late", delay=3.0))
    started = time.monotonic()

    result = with_router(
        fx_runner, fx_providers, lambda r: r.complete(ChatRequest(MESSAGES)), timeout=0.3
    )

    assert result.provider == "backup"
    assert result.text == "Echo: When do you open?"
    assert time.monotonic() - started < 2.0  # gave up on the primary at our timeout
    assert len(fx_primary.chat_requests) == 1


def test_refused_connection_falls_to_next_provider(
    fx_backup: FakeOpenAI, fx_runner: asyncio.Runner, fx_providers: list[LLMProvider]
) -> None:
    providers = [closed_port_provider("gone"), fx_providers[1]]

    result = with_router(fx_runner, providers, lambda r: r.complete(ChatRequest(MESSAGES)))

    assert result.provider == "backup"
    assert len(fx_backup.chat_requests) == 1


def test_every_provider_failing_raises_llm_error_listing_each(
    fx_primary: FakeOpenAI,
    fx_backup: FakeOpenAI,
    fx_runner: asyncio.Runner,
    fx_providers: list[LLMProvider],
) -> None:
    fx_primary.push(Reply(status=500, message="primary is broken"))
    fx_backup.push(Reply(status=503, message="backup is overloaded"))
    providers = [*fx_providers, closed_port_provider("gone")]

    with pytest.raises(LLMError) as caught:
        with_router(fx_runner, providers, lambda r: r.complete(ChatRequest(MESSAGES)))

    error = caught.value
    assert [(a.provider, a.status) for a in error.attempts] == [
        ("primary", 500),
        ("backup", 503),
        ("gone", None),
    ]
    message = str(error)
    assert "primary (primary-small): HTTP 500" in message
    assert "primary is broken" in message
    assert "backup is overloaded" in message
    assert "gone (platform-default): connection failed" in message
    assert error.partial is None


def test_pinned_provider_is_the_only_one_tried(
    fx_primary: FakeOpenAI, fx_backup: FakeOpenAI, fx_runner: asyncio.Runner, fx_router: LLMRouter
) -> None:
    fx_backup.push("Pinned answer.")
    result = complete(fx_runner, fx_router, ChatRequest(MESSAGES, provider="backup"))
    assert (result.provider, result.text) == ("backup", "Pinned answer.")
    assert fx_primary.chat_requests == []

    # ... and when it fails there is nowhere else to go.
    fx_backup.push(Reply(status=500))
    with pytest.raises(LLMError) as caught:
        complete(fx_runner, fx_router, ChatRequest(MESSAGES, provider="backup"))
    assert [a.provider for a in caught.value.attempts] == ["backup"]
    assert fx_primary.chat_requests == []


@pytest.mark.parametrize(
    ("provider", "model", "answered_by", "sent_model"),
    [
        (None, None, "primary", "primary-small"),  # the provider's first model
        (None, "primary-large", "primary", "primary-large"),  # a listed model
        ("backup", None, "backup", DEFAULT_MODEL),  # lists none: the platform default
        ("backup", "any-model/at-all", "backup", "any-model/at-all"),  # lists none: takes any
        (None, "only-on-backup", "backup", "only-on-backup"),  # primary doesn't list it
    ],
)
def test_model_selection(
    provider: str | None,
    model: str | None,
    answered_by: str,
    sent_model: str,
    fx_primary: FakeOpenAI,
    fx_backup: FakeOpenAI,
    fx_runner: asyncio.Runner,
    fx_router: LLMRouter,
) -> None:
    result = complete(fx_runner, fx_router, ChatRequest(MESSAGES, model=model, provider=provider))

    assert (result.provider, result.model) == (answered_by, sent_model)
    fake, other = (fx_primary, fx_backup) if answered_by == "primary" else (fx_backup, fx_primary)
    assert [r.body["model"] for r in fake.chat_requests if r.body] == [sent_model]
    assert other.chat_requests == []


def test_fallback_keeps_each_providers_own_model(
    fx_primary: FakeOpenAI, fx_backup: FakeOpenAI, fx_runner: asyncio.Runner
) -> None:
    providers = [
        LLMProvider(name="a", base_url=fx_primary.base_url, api_key="sk-primary", models=["m-a"]),
        LLMProvider(name="b", base_url=fx_backup.base_url, api_key="sk-backup", models=["m-b"]),
    ]
    fx_primary.push(Reply(status=502))

    result = with_router(fx_runner, providers, lambda r: r.complete(ChatRequest(MESSAGES)))

    assert (result.provider, result.model) == ("b", "m-b")


def test_usage_is_estimated_when_the_provider_reports_none(
    fx_primary: FakeOpenAI, fx_runner: asyncio.Runner, fx_router: LLMRouter
) -> None:
    fx_primary.push(Reply(text="one two three four five six", usage=False))

    result = complete(fx_runner, fx_router, ChatRequest(MESSAGES))

    words = sum(len(m["content"].split()) for m in MESSAGES)
    assert result.usage == Usage(
        prompt_tokens=math.ceil(words * 4 / 3), completion_tokens=8, estimated=True
    )


# -- stream --------------------------------------------------------------------------


def test_stream_yields_deltas_then_done_with_reported_usage(
    fx_primary: FakeOpenAI, fx_runner: asyncio.Runner, fx_router: LLMRouter
) -> None:
    fx_primary.push("We open at nine [1].")

    *deltas, done = stream(fx_runner, fx_router, ChatRequest(MESSAGES))

    assert len(deltas) == 5
    assert all(isinstance(d, Delta) for d in deltas)
    assert "".join(d.text for d in deltas if isinstance(d, Delta)) == "We open at nine [1]."
    assert {(d.provider, d.model) for d in deltas if isinstance(d, Delta)} == {
        ("primary", "primary-small")
    }
    assert done == Done(
        Completion(
            text="We open at nine [1].",
            model="primary-small",
            provider="primary",
            usage=reported_usage("We open at nine [1]."),
        )
    )
    (sent,) = fx_primary.chat_requests
    assert sent.body is not None
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}


def test_stream_without_reported_usage_is_estimated(
    fx_primary: FakeOpenAI, fx_runner: asyncio.Runner, fx_router: LLMRouter
) -> None:
    fx_primary.push(Reply(text="a b c", usage=False))

    done = stream(fx_runner, fx_router, ChatRequest(MESSAGES))[-1]

    assert isinstance(done, Done)
    assert done.completion.text == "a b c"
    assert done.completion.usage.estimated
    assert done.completion.usage.completion_tokens == 4  # ceil(3 words * 4/3)


@pytest.mark.parametrize(
    "failure",
    [Reply(text="never seen", break_after=0), Reply(status=500), Reply(status=429)],
    ids=["broken-before-first-delta", "http-500", "http-429"],
)
def test_stream_failing_before_first_delta_falls_back(
    failure: Reply,
    fx_primary: FakeOpenAI,
    fx_backup: FakeOpenAI,
    fx_runner: asyncio.Runner,
    fx_router: LLMRouter,
) -> None:
    fx_primary.push(failure)
    fx_backup.push("Backup streams this.")

    events = stream(fx_runner, fx_router, ChatRequest(MESSAGES))

    deltas = [e for e in events if isinstance(e, Delta)]
    assert "".join(d.text for d in deltas) == "Backup streams this."
    assert {d.provider for d in deltas} == {"backup"}
    done = events[-1]
    assert isinstance(done, Done)
    assert done.completion.provider == "backup"
    assert done.completion.text == "Backup streams this."
    assert len(fx_primary.chat_requests) == 1


def test_stream_timing_out_before_first_delta_falls_back(
    fx_primary: FakeOpenAI, fx_runner: asyncio.Runner, fx_providers: list[LLMProvider]
) -> None:
    fx_primary.push(Reply(text="late", delay=3.0))

    events = with_router(
        fx_runner, fx_providers, lambda r: collect(r, ChatRequest(MESSAGES)), timeout=0.3
    )

    done = events[-1]
    assert isinstance(done, Done)
    assert done.completion.provider == "backup"


def test_stream_breaking_after_first_delta_raises_with_partial(
    fx_primary: FakeOpenAI, fx_backup: FakeOpenAI, fx_runner: asyncio.Runner, fx_router: LLMRouter
) -> None:
    fx_primary.push(Reply(text="one two three four", break_after=2))
    received: list[Delta | Done] = []

    async def consume() -> None:
        async for event in fx_router.stream(ChatRequest(MESSAGES)):
            received.append(event)

    with pytest.raises(LLMError) as caught:
        fx_runner.run(consume())

    assert "".join(e.text for e in received if isinstance(e, Delta)) == "one two "
    assert not any(isinstance(e, Done) for e in received)
    partial = caught.value.partial
    assert partial is not None
    assert (partial.text, partial.provider, partial.model) == (
        "one two ",
        "primary",
        "primary-small",
    )
    assert partial.usage.estimated
    assert partial.usage.completion_tokens == 3  # ceil(2 words * 4/3)
    assert [a.provider for a in caught.value.attempts] == ["primary"]
    assert fx_backup.chat_requests == []  # no fallback once text was out


def test_stream_with_every_provider_failing_raises(
    fx_primary: FakeOpenAI, fx_backup: FakeOpenAI, fx_runner: asyncio.Runner, fx_router: LLMRouter
) -> None:
    fx_primary.push(Reply(status=500))
    fx_backup.push(Reply(text="x y", break_after=0))

    with pytest.raises(LLMError) as caught:
        stream(fx_runner, fx_router, ChatRequest(MESSAGES))

    assert [a.provider for a in caught.value.attempts] == ["primary", "backup"]
    assert caught.value.partial is None


def test_stream_abandoned_by_its_caller_closes_cleanly(
    fx_primary: FakeOpenAI, fx_runner: asyncio.Runner, fx_router: LLMRouter
) -> None:
    fx_primary.push(Reply(text="a b c d e f", chunk_delay=0.05), "Next answer.")

    async def first_then_leave() -> Delta | Done:
        events = fx_router.stream(ChatRequest(MESSAGES))
        first = await anext(events)
        await events.aclose()  # what a handler does when its client hangs up
        return first

    first = fx_runner.run(first_then_leave())

    assert first == Delta("a ", provider="primary", model="primary-small")
    # The router is still fine for the next call.
    assert complete(fx_runner, fx_router, ChatRequest(MESSAGES)).text == "Next answer."


# -- validation and configuration ----------------------------------------------------


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": 2.01}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 32_001}, "max_tokens"),
        ({"provider": "nope"}, "provider"),
        ({"model": "m" * 201}, "model"),
        ({"model": " "}, "model"),
        ({"model": "not-listed", "provider": "primary"}, "model"),
    ],
)
def test_validate_rejects_bad_options_naming_the_field(
    options: dict[str, object],
    field: str,
    fx_primary: FakeOpenAI,
    fx_backup: FakeOpenAI,
    fx_runner: asyncio.Runner,
    fx_router: LLMRouter,
) -> None:
    request = ChatRequest(MESSAGES, **options)  # type: ignore[arg-type]

    with pytest.raises(InvalidInput) as direct:
        fx_router.validate(request)
    assert direct.value.field == field
    assert direct.value.status == 400
    with pytest.raises(InvalidInput):
        complete(fx_runner, fx_router, request)
    with pytest.raises(InvalidInput):
        fx_router.stream(request)  # raised at the call, before any iteration

    assert fx_primary.chat_requests == fx_backup.chat_requests == []


@pytest.mark.parametrize(
    "options",
    [
        {"temperature": 0, "max_tokens": 1},
        {"temperature": 2.0, "max_tokens": 32_000},
        {"model": "primary-large", "provider": "primary"},
        {"model": "whatever", "provider": "backup"},
        {"model": "whatever"},  # backup lists no models, so it takes this one
    ],
)
def test_validate_accepts_the_bounds(options: dict[str, object], fx_router: LLMRouter) -> None:
    fx_router.validate(ChatRequest(MESSAGES, **options))  # type: ignore[arg-type]


def test_no_provider_configured(fx_runner: asyncio.Runner) -> None:
    async def check(router: LLMRouter) -> None:
        assert not router.configured
        # The answer will be extractive, so any model name is fine ...
        router.validate(ChatRequest(MESSAGES, model="gpt-4o"))
        # ... but a call is a caller's mistake: it should have checked `configured`.
        with pytest.raises(LLMError, match="no LLM provider is configured"):
            await router.complete(ChatRequest(MESSAGES))

    with_router(fx_runner, [], check)


def test_duplicate_provider_names_are_refused() -> None:
    twice = [LLMProvider(name="same"), LLMProvider(name="same")]
    with pytest.raises(ValueError, match="unique"):
        LLMRouter(twice, timeout=1.0, default_model=DEFAULT_MODEL)


def test_openai_variables_alone_configure_one_provider(
    fx_backup: FakeOpenAI, fx_runner: asyncio.Runner
) -> None:
    settings = load_settings(
        llm_providers=[],  # whatever the environment says: only the OPENAI_* pair
        openai_api_key="sk-backup",
        openai_base_url=fx_backup.base_url,
        llm_default_model="env-model",
        llm_timeout_s=4.0,
    )
    router = LLMRouter.from_settings(settings)
    try:
        assert router.configured
        assert router.provider_names == ["openai"]
        assert router.timeout == 4.0
        result = complete(fx_runner, router, ChatRequest(MESSAGES))
    finally:
        fx_runner.run(router.aclose())

    assert (result.provider, result.model) == ("openai", "env-model")
    assert fx_backup.chat_requests[0].headers["authorization"] == "Bearer sk-backup"
