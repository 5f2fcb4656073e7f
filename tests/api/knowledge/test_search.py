"""Searching a bot's documents: the right passage first, in every mode, only the bot's own."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.knowledge import make_bot, upload, wait_for
from tests.support.server import LiveServer
from tests.support.tenants import Tenant, register_tenant
from tests.support.worker import WorkerProcess

FACTS = {
    "shipping.txt": "We ship parcels to every country in the European Union within four working days.",
    "warranty.txt": "Every espresso machine carries a two year warranty covering the pump and boiler.",
    "hours.txt": "The Lisbon store opens at nine in the morning and closes at seven in the evening.",
}


@pytest.fixture(scope="module")
def fx_library(fx_server: LiveServer) -> Iterator[tuple[httpx.Client, Tenant, str, dict[str, str]]]:
    with (
        httpx.Client(base_url=fx_server.base_url, timeout=30) as client,
        WorkerProcess(("ingest", "ingest-bulk")),
    ):
        tenant = register_tenant(client)
        bot = make_bot(client, tenant)
        ids = {}
        for name, text in FACTS.items():
            ids[name] = upload(client, tenant, bot, name, text.encode()).json()["id"]
        for doc_id in ids.values():
            wait_for(client, tenant, bot, doc_id)
        yield client, tenant, bot, ids


def _search(client: httpx.Client, tenant: Tenant, bot: str, **body: object) -> httpx.Response:
    return client.post(f"/api/v1/chatbots/{bot}/search", headers=tenant.headers, json=body)


@pytest.mark.parametrize("mode", ["hybrid", "vector", "keyword"])
def test_best_passage_ranks_first(fx_library: tuple, mode: str) -> None:
    client, tenant, bot, ids = fx_library
    query = {
        "keyword": "espresso warranty",
        "vector": "How long is the guarantee on my coffee maker?",
    }.get(mode, "warranty for the espresso machine")
    response = _search(client, tenant, bot, query=query, mode=mode, limit=3)
    assert response.status_code == 200, response.text
    results = response.json()
    assert results[0]["document_id"] == ids["warranty.txt"]
    assert results[0]["filename"] == "warranty.txt"
    assert results[0]["ordinal"] == 0
    assert "two year warranty" in results[0]["text"]
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


def test_limit_is_honoured(fx_library: tuple) -> None:
    client, tenant, bot, _ = fx_library
    assert len(_search(client, tenant, bot, query="store parcels warranty", limit=1).json()) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": ""}, "query"),
        ({"query": "x", "limit": 51}, "limit"),
        ({"query": "x", "limit": 0}, "limit"),
        ({"query": "x", "mode": "semantic"}, "mode"),
        ({"query": "x" * 2001}, "query"),
        ({"q": "x"}, "q"),
    ],
)
def test_bad_search_input_names_the_field(fx_library: tuple, body: dict, field: str) -> None:
    client, tenant, bot, _ = fx_library
    response = _search(client, tenant, bot, **body)
    assert response.status_code == 400
    assert field in response.json()["detail"]


def test_hostile_queries_do_not_break_search(fx_library: tuple) -> None:
    client, tenant, bot, _ = fx_library
    for query in ['"', "AND OR NOT", "*", 'warranty" OR 1=1 --', "🙂", "NEAR(a b)"]:
        for mode in ("hybrid", "keyword"):
            assert _search(client, tenant, bot, query=query, mode=mode).status_code == 200


def test_another_customer_finds_nothing_of_ours(fx_library: tuple) -> None:
    client, _, bot, _ = fx_library
    other = register_tenant(client)
    other_bot = make_bot(client, other)
    assert _search(client, other, other_bot, query="espresso warranty").json() == []
    assert _search(client, other, bot, query="espresso warranty").status_code == 404
