"""The fake OpenAI server behaves like the real API as far as the real ``openai`` client sees."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator

import openai
import pytest

from tests.fakes.openai_server import FakeOpenAI, Reply, count_tokens, fake_embedding

USER = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What time is it?"}]


@pytest.fixture(scope="module")
def fx_fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fx_openai(fx_fake: FakeOpenAI) -> Iterator[openai.OpenAI]:
    fx_fake.reset()
    client = openai.OpenAI(
        base_url=fx_fake.base_url, api_key=fx_fake.api_key, max_retries=0, timeout=5
    )
    yield client
    client.close()


def test_default_reply_echoes_and_usage_counts_words(
    fx_fake: FakeOpenAI, fx_openai: openai.OpenAI
) -> None:
    answer = fx_openai.chat.completions.create(model="fake-chat", messages=USER)  # type: ignore[arg-type]

    assert answer.choices[0].message.content == "Echo: What time is it?"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None
    assert answer.usage.prompt_tokens == 2 + 4  # every message's words
    assert answer.usage.completion_tokens == 5
    assert answer.usage.total_tokens == 11
    (request,) = fx_fake.chat_requests
    assert request.body is not None and request.body["model"] == "fake-chat"
    assert request.last_user_message == "What time is it?"
    assert request.headers["authorization"] == f"Bearer {fx_fake.api_key}"


def test_scripted_replies_are_used_in_order(fx_fake: FakeOpenAI, fx_openai: openai.OpenAI) -> None:
    fx_fake.push("first answer", Reply(text="second"))

    texts = [
        fx_openai.chat.completions.create(model="m", messages=USER).choices[0].message.content  # type: ignore[arg-type]
        for _ in range(3)
    ]

    assert texts == ["first answer", "second", "Echo: What time is it?"]
    assert fx_fake.pending() == 0


def test_max_tokens_truncates_with_length_finish(
    fx_fake: FakeOpenAI, fx_openai: openai.OpenAI
) -> None:
    fx_fake.push("one two three four five")

    answer = fx_openai.chat.completions.create(model="m", messages=USER, max_tokens=2)  # type: ignore[arg-type]

    assert answer.choices[0].message.content == "one two "
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage is not None and answer.usage.completion_tokens == 2


def test_stream_with_usage(fx_fake: FakeOpenAI, fx_openai: openai.OpenAI) -> None:
    fx_fake.push("The answer is forty two.")

    stream = fx_openai.chat.completions.create(
        model="m",
        messages=USER,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    deltas: list[str] = []
    finishes: list[str] = []
    usages = []
    for part in stream:
        for choice in part.choices:
            deltas.append(choice.delta.content or "")
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
        if part.usage is not None:
            usages.append(part.usage)

    assert "".join(deltas) == "The answer is forty two."
    assert len([d for d in deltas if d]) == 5  # one piece per word
    assert finishes == ["stop"]
    (usage,) = usages
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (6, 5, 11)


def test_stream_without_include_usage_has_none(
    fx_fake: FakeOpenAI, fx_openai: openai.OpenAI
) -> None:
    stream = fx_openai.chat.completions.create(model="m", messages=USER, stream=True)  # type: ignore[arg-type]

    parts = list(stream)

    assert all(part.usage is None for part in parts)
    assert "".join(p.choices[0].delta.content or "" for p in parts) == "Echo: What time is it?"


def test_stream_broken_midway_raises_after_partial_text(
    fx_fake: FakeOpenAI, fx_openai: openai.OpenAI
) -> None:
    fx_fake.push(Reply(text="alpha beta gamma delta", break_after=2))
    received: list[str] = []

    with pytest.raises(openai.APIConnectionError):
        stream = fx_openai.chat.completions.create(
            model="m",
            messages=USER,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
        for part in stream:
            received.extend(c.delta.content or "" for c in part.choices)

    assert "".join(received) == "alpha beta "


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, openai.InternalServerError),
        (429, openai.RateLimitError),
        (401, openai.AuthenticationError),
        (400, openai.BadRequestError),
    ],
)
def test_scripted_error_status(
    fx_fake: FakeOpenAI, fx_openai: openai.OpenAI, status: int, error: type[Exception]
) -> None:
    fx_fake.push(Reply(status=status, message="scripted failure"))

    with pytest.raises(error, match="scripted failure"):
        fx_openai.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]


def test_client_retries_consume_scripted_errors(fx_fake: FakeOpenAI) -> None:
    fx_fake.reset()
    fx_fake.push(Reply(status=429, retry_after=0.01), Reply(status=503, retry_after=0.01), "ok")
    client = openai.OpenAI(base_url=fx_fake.base_url, api_key=fx_fake.api_key, max_retries=2)

    answer = client.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]

    assert answer.choices[0].message.content == "ok"
    assert len(fx_fake.chat_requests) == 3


def test_delay_triggers_client_timeout(fx_fake: FakeOpenAI) -> None:
    fx_fake.reset()
    fx_fake.push(Reply(delay=2.0, text="too late"))
    client = openai.OpenAI(
        base_url=fx_fake.base_url, api_key=fx_fake.api_key, max_retries=0, timeout=0.3
    )
    started = time.monotonic()

    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]

    assert time.monotonic() - started < 1.5


def test_required_api_key() -> None:
    with FakeOpenAI(api_key="sk-right") as fake:
        wrong = openai.OpenAI(base_url=fake.base_url, api_key="sk-wrong", max_retries=0)
        right = openai.OpenAI(base_url=fake.base_url, api_key="sk-right", max_retries=0)

        with pytest.raises(openai.AuthenticationError):
            wrong.models.list()
        assert [m.id for m in right.models.list()] == ["fake-chat", "fake-embed"]


def test_embeddings_dimensions_usage_and_determinism(
    fx_fake: FakeOpenAI, fx_openai: openai.OpenAI
) -> None:
    texts = ["refund policy for orders", "refund policy", "volcano eruption"]

    floats = fx_openai.embeddings.create(
        model="fake-embed", input=texts, dimensions=64, encoding_format="float"
    )
    # The SDK's default asks for base64 and decodes it; both must agree.
    decoded = fx_openai.embeddings.create(model="fake-embed", input=texts, dimensions=64)

    vectors = [item.embedding for item in floats.data]
    assert [len(v) for v in vectors] == [64, 64, 64]
    assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-9) for v in vectors)
    assert vectors[0] == pytest.approx(fake_embedding(texts[0], 64))
    assert [item.embedding for item in decoded.data][2] == pytest.approx(vectors[2], abs=1e-6)
    assert floats.usage.prompt_tokens == sum(count_tokens(t) for t in texts) == 8

    def dot(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert dot(vectors[0], vectors[1]) > dot(vectors[0], vectors[2])


def test_embeddings_default_dimensions_and_scripted_error(
    fx_fake: FakeOpenAI, fx_openai: openai.OpenAI
) -> None:
    fx_fake.push_embeddings(Reply(status=500))

    with pytest.raises(openai.InternalServerError):
        fx_openai.embeddings.create(model="fake-embed", input="x")
    result = fx_openai.embeddings.create(model="fake-embed", input="x")

    assert len(result.data[0].embedding) == 1536


def test_async_client_chat_and_stream(fx_fake: FakeOpenAI) -> None:
    fx_fake.reset()
    fx_fake.push("async hello", "streamed async hello")

    async def run() -> tuple[str | None, str, int]:
        async with openai.AsyncOpenAI(
            base_url=fx_fake.base_url, api_key=fx_fake.api_key, max_retries=0, timeout=5
        ) as client:
            answer = await client.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]
            stream = await client.chat.completions.create(
                model="m",
                messages=USER,  # type: ignore[arg-type]
                stream=True,
                stream_options={"include_usage": True},
            )
            text, total = "", 0
            async for part in stream:
                text += "".join(c.delta.content or "" for c in part.choices)
                if part.usage is not None:
                    total = part.usage.total_tokens
            return answer.choices[0].message.content, text, total

    content, streamed, total = asyncio.run(run())

    assert content == "async hello"
    assert streamed == "streamed async hello"
    assert total == 6 + 3


def test_concurrent_async_requests_each_get_their_echo(fx_fake: FakeOpenAI) -> None:
    fx_fake.reset()

    async def run() -> list[str | None]:
        async with openai.AsyncOpenAI(
            base_url=fx_fake.base_url, api_key=fx_fake.api_key, max_retries=0, timeout=5
        ) as client:
            answers = await asyncio.gather(
                *(
                    client.chat.completions.create(
                        model="m", messages=[{"role": "user", "content": f"question {i}"}]
                    )
                    for i in range(8)
                )
            )
            return [a.choices[0].message.content for a in answers]

    assert asyncio.run(run()) == [f"Echo: question {i}" for i in range(8)]
    assert len(fx_fake.chat_requests) == 8


def test_unknown_path_is_404(fx_fake: FakeOpenAI, fx_openai: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        fx_openai.post("/nothing-here", cast_to=object, body={})
