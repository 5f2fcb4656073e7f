"""The contract every VectorStore keeps, run against each backend (see conftest)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from uuid import UUID, uuid4

import numpy as np
import pytest

from core.vectors import (
    ChunkRecord,
    ScopedVectors,
    SearchMode,
    VectorStore,
    VectorStoreError,
    open_vector_store,
    sqlite_store,
)
from core.vectors.sqlite_store import SqliteVecStore

DIMS = 16  # the dimensions conftest's fx_store and fx_vec use

Vec = Callable[[int], list[float]]
MODES: list[SearchMode] = ["vector", "keyword", "hybrid"]


def near(vector: Sequence[float], seed: int, eps: float = 0.05) -> list[float]:
    """A unit vector close to ``vector`` (cosine ~0.99 for the default eps)."""
    noise = np.random.default_rng(10_000 + seed).standard_normal(len(vector))
    v = np.asarray(vector) + eps * noise / np.linalg.norm(noise)
    return (v / np.linalg.norm(v)).tolist()


def chunk(doc: UUID, bot: UUID, ordinal: int, text: str, vector: Sequence[float]) -> ChunkRecord:
    return ChunkRecord(document_id=doc, chatbot_id=bot, ordinal=ordinal, text=text, vector=vector)


WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa"]
ALL_WORDS = " ".join(WORDS)  # every filler() text has 6 of these


def filler(n: int) -> str:
    return " ".join(WORDS[(n + i) % len(WORDS)] for i in range(6))


def seed_docs(
    store: VectorStore, customer: UUID, bot: UUID, vec: Vec, n: int = 10
) -> list[ChunkRecord]:
    """n one-chunk documents with vectors vec(0..n-1) and plain filler text."""
    chunks = [chunk(uuid4(), bot, 0, f"{filler(i)} number{i}", vec(i)) for i in range(n)]
    store.upsert(customer, chunks)
    return chunks


def test_vector_search_ranks_the_nearest_first(
    fx_store: VectorStore, fx_customer: UUID, fx_vec: Vec
) -> None:
    bot = uuid4()
    chunks = seed_docs(fx_store, fx_customer, bot, fx_vec)
    for target in (0, 3, 7):
        hits = fx_store.search(
            fx_customer, bot, query_text="", vector=near(fx_vec(target), target), mode="vector"
        )
        assert hits[0].document_id == chunks[target].document_id
        assert hits[0].chatbot_id == bot
        assert hits[0].text == chunks[target].text
        assert hits[0].score > 0.9  # cosine similarity of a near copy
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_keyword_search_finds_an_exact_rare_word(
    fx_store: VectorStore, fx_customer: UUID, fx_vec: Vec
) -> None:
    bot = uuid4()
    seed_docs(fx_store, fx_customer, bot, fx_vec)
    rare = chunk(uuid4(), bot, 0, "the invoice mentions Zanzibar exactly once", fx_vec(99))
    fx_store.upsert(fx_customer, [rare])

    hits = fx_store.search(
        fx_customer, bot, query_text="zanzibar", vector=None, mode="keyword", limit=3
    )

    assert [h.document_id for h in hits] == [rare.document_id]
    assert hits[0].score > 0


def test_hybrid_ranks_first_what_both_sides_rank_first(
    fx_store: VectorStore, fx_customer: UUID, fx_vec: Vec
) -> None:
    bot = uuid4()
    seed_docs(fx_store, fx_customer, bot, fx_vec)
    query = fx_vec(500)
    both = chunk(uuid4(), bot, 0, "refund policy for damaged parcels", near(query, 1, 0.1))
    vector_only = chunk(uuid4(), bot, 0, "shipping times to islands", near(query, 2, 0.6))
    keyword_only = chunk(uuid4(), bot, 0, "refund refund parcels parcels policy", fx_vec(501))
    fx_store.upsert(fx_customer, [both, vector_only, keyword_only])

    hits = fx_store.search(
        fx_customer, bot, query_text="refund parcels policy", vector=query, mode="hybrid"
    )

    assert hits[0].document_id == both.document_id
    found = {h.document_id for h in hits}
    assert {vector_only.document_id, keyword_only.document_id} <= found


def test_hybrid_alpha_moves_the_weight(
    fx_store: VectorStore, fx_customer: UUID, fx_vec: Vec
) -> None:
    bot = uuid4()
    query = fx_vec(600)
    by_vector = chunk(uuid4(), bot, 0, "opening hours of the shop", near(query, 3, 0.05))
    by_word = chunk(uuid4(), bot, 0, "warranty warranty terms", fx_vec(601))
    fx_store.upsert(fx_customer, [by_vector, by_word])

    def top(alpha: float) -> UUID:
        hits = fx_store.search(
            fx_customer, bot, query_text="warranty", vector=query, mode="hybrid", alpha=alpha
        )
        return hits[0].document_id

    assert top(1.0) == by_vector.document_id
    assert top(0.0) == by_word.document_id


def test_upsert_twice_replaces_instead_of_duplicating(
    fx_store: VectorStore, fx_customer: UUID, fx_vec: Vec
) -> None:
    bot, doc = uuid4(), uuid4()
    first = [chunk(doc, bot, i, f"version one part{i}", fx_vec(i)) for i in range(5)]
    fx_store.upsert(fx_customer, first)
    fx_store.upsert(fx_customer, first)
    assert fx_store.count(fx_customer, bot) == 5

    second = [chunk(doc, bot, i, f"version two part{i}", fx_vec(100 + i)) for i in range(5)]
    fx_store.upsert(fx_customer, second)

    assert fx_store.count(fx_customer, bot) == 5
    assert fx_store.count(fx_customer) == 5
    hits = fx_store.search(
        fx_customer, bot, query_text="", vector=fx_vec(102), mode="vector", limit=10
    )
    assert len(hits) == 5
    assert {h.text.split(" part")[0] for h in hits} == {"version two"}
    assert (hits[0].ordinal, hits[0].text) == (2, "version two part2")
    assert fx_store.search(fx_customer, bot, query_text="one", vector=None, mode="keyword") == []


def test_delete_document_removes_only_that_document(
    fx_store: VectorStore, fx_customer: UUID, fx_vec: Vec
) -> None:
    bot = uuid4()
    doomed, kept = uuid4(), uuid4()
    fx_store.upsert(
        fx_customer,
        [chunk(doomed, bot, i, f"doomed text {i}", fx_vec(i)) for i in range(3)]
        + [chunk(kept, bot, i, f"kept text {i}", fx_vec(10 + i)) for i in range(2)],
    )

    assert fx_store.delete_document(fx_customer, doomed) == 3
    assert fx_store.delete_document(fx_customer, doomed) == 0

    assert fx_store.count(fx_customer, bot) == 2
    for mode in MODES:
        hits = fx_store.search(
            fx_customer, bot, query_text="doomed text", vector=fx_vec(0), mode=mode, limit=10
        )
        assert {h.document_id for h in hits} <= {kept}


def test_delete_chatbot_removes_its_chunks_only(
    fx_store: VectorStore, fx_customer: UUID, fx_vec: Vec
) -> None:
    doomed_bot, kept_bot = uuid4(), uuid4()
    seed_docs(fx_store, fx_customer, doomed_bot, fx_vec, n=4)
    seed_docs(fx_store, fx_customer, kept_bot, fx_vec, n=3)

    assert fx_store.delete_chatbot(fx_customer, doomed_bot) == 4
    assert fx_store.delete_chatbot(fx_customer, doomed_bot) == 0

    assert fx_store.count(fx_customer, doomed_bot) == 0
    assert fx_store.count(fx_customer) == 3
    assert fx_store.search(fx_customer, doomed_bot, query_text="alpha", vector=fx_vec(0)) == []
    assert len(fx_store.search(fx_customer, kept_bot, query_text="alpha", vector=fx_vec(0))) == 3


@pytest.mark.parametrize("mode", MODES)
def test_limit_is_honoured(
    fx_store: VectorStore, fx_customer: UUID, fx_vec: Vec, mode: SearchMode
) -> None:
    bot = uuid4()
    seed_docs(fx_store, fx_customer, bot, fx_vec, n=12)
    for limit in (1, 3, 12):
        hits = fx_store.search(
            fx_customer, bot, query_text=ALL_WORDS, vector=fx_vec(1), mode=mode, limit=limit
        )
        assert len(hits) == limit
    with pytest.raises(VectorStoreError):
        fx_store.search(fx_customer, bot, query_text="alpha", vector=fx_vec(1), limit=0)


def test_tenants_are_isolated(fx_store: VectorStore, fx_vec: Vec) -> None:
    customer_a, customer_b = uuid4(), uuid4()
    bot_a, bot_b = uuid4(), uuid4()
    a_chunks = seed_docs(fx_store, customer_a, bot_a, fx_vec, n=5)
    fx_store.upsert(customer_b, [chunk(uuid4(), bot_b, 0, "customer b only", fx_vec(0))])

    # B naming A's chatbot (ids leak in logs, URLs...) sees nothing, in every mode.
    for mode in MODES:
        assert (
            fx_store.search(
                customer_b, bot_a, query_text="alpha number1", vector=fx_vec(1), mode=mode
            )
            == []
        )
    assert fx_store.count(customer_b, bot_a) == 0
    assert fx_store.delete_document(customer_b, a_chunks[0].document_id) == 0
    assert fx_store.delete_chatbot(customer_b, bot_a) == 0

    assert fx_store.count(customer_a) == 5
    assert fx_store.count(customer_b) == 1
    b_hits = fx_store.search(customer_b, bot_b, query_text="alpha customer", vector=fx_vec(0))
    assert [h.text for h in b_hits] == ["customer b only"]
    a_hits = fx_store.search(customer_a, bot_a, query_text="customer", vector=fx_vec(0))
    assert all(h.document_id in {c.document_id for c in a_chunks} for h in a_hits)


def test_same_document_ids_in_two_tenants_stay_apart(fx_store: VectorStore, fx_vec: Vec) -> None:
    customer_a, customer_b, bot, doc = uuid4(), uuid4(), uuid4(), uuid4()
    fx_store.upsert(customer_a, [chunk(doc, bot, 0, "from a", fx_vec(1))])
    fx_store.upsert(customer_b, [chunk(doc, bot, 0, "from b", fx_vec(2))])

    assert fx_store.delete_document(customer_a, doc) == 1
    hits = fx_store.search(customer_b, bot, query_text="from", vector=fx_vec(2))
    assert [h.text for h in hits] == ["from b"]


def test_search_is_scoped_to_one_chatbot(
    fx_store: VectorStore, fx_customer: UUID, fx_vec: Vec
) -> None:
    bot_1, bot_2 = uuid4(), uuid4()
    one = seed_docs(fx_store, fx_customer, bot_1, fx_vec, n=4)
    # bot_2's chunk is the closest to the query and has the word: it must still not leak.
    fx_store.upsert(fx_customer, [chunk(uuid4(), bot_2, 0, "alpha number0 bonus", fx_vec(0))])

    for mode in MODES:
        hits = fx_store.search(
            fx_customer, bot_1, query_text="alpha number0", vector=fx_vec(0), mode=mode, limit=10
        )
        assert {h.document_id for h in hits} <= {c.document_id for c in one}
        assert all(h.chatbot_id == bot_1 for h in hits)
    assert fx_store.count(fx_customer, bot_1) == 4
    assert fx_store.count(fx_customer, bot_2) == 1


HOSTILE = [
    *['"', "'", "*", "(", "_", "---", "^start", '"unterminated', "\x00"],  # FTS5 syntax
    *["AND OR NOT", "x AND", "NEAR(a b)", "a:b", "col : value"],  # operators, columns
    *["", "   ", "🙂🚀", "ﬁ ǅ ²"],  # nothing, emoji, odd Unicode letters and digits
]


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_hostile_query_text_never_raises(
    fx_store: VectorStore, fx_customer: UUID, fx_vec: Vec, text: str, mode: SearchMode
) -> None:
    bot = uuid4()
    seed_docs(fx_store, fx_customer, bot, fx_vec, n=3)
    hits = fx_store.search(fx_customer, bot, query_text=text, vector=fx_vec(1), mode=mode)
    assert isinstance(hits, list)


def test_quoted_words_still_match(fx_store: VectorStore, fx_customer: UUID, fx_vec: Vec) -> None:
    bot = uuid4()
    target = chunk(uuid4(), bot, 0, "the quarterly report", fx_vec(1))
    fx_store.upsert(fx_customer, [target])
    for text in ['"quarterly"', "quarterly*", "NOT quarterly", "(quarterly)"]:
        hits = fx_store.search(fx_customer, bot, query_text=text, vector=None, mode="keyword")
        assert [h.document_id for h in hits] == [target.document_id], text


def test_wrong_dimensions_raise(fx_store: VectorStore, fx_customer: UUID, fx_vec: Vec) -> None:
    bot = uuid4()
    seed_docs(fx_store, fx_customer, bot, fx_vec, n=2)
    with pytest.raises(VectorStoreError, match="dimension"):
        fx_store.upsert(fx_customer, [chunk(uuid4(), bot, 0, "short", [0.5] * (DIMS - 1))])
    with pytest.raises(VectorStoreError, match="dimension"):
        fx_store.search(fx_customer, bot, query_text="x", vector=[0.5] * (DIMS + 1))
    assert fx_store.count(fx_customer, bot) == 2  # the bad batch wrote nothing


def test_bad_vectors_and_arguments_raise(
    fx_store: VectorStore, fx_customer: UUID, fx_vec: Vec
) -> None:
    bot = uuid4()
    for bad in ([0.0] * DIMS, [float("nan")] * DIMS):
        with pytest.raises(VectorStoreError):
            fx_store.upsert(fx_customer, [chunk(uuid4(), bot, 0, "bad", bad)])
    with pytest.raises(VectorStoreError):
        fx_store.search(fx_customer, bot, query_text="x", vector=None, mode="vector")
    with pytest.raises(VectorStoreError):
        fx_store.search(fx_customer, bot, query_text="x", vector=fx_vec(1), alpha=1.5)
    with pytest.raises(VectorStoreError):
        fx_store.search(fx_customer, bot, query_text="x", vector=fx_vec(1), mode="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(VectorStoreError):
        fx_store.count(str(fx_customer))  # type: ignore[arg-type]


def test_unknown_tenant_reads_as_empty(fx_store: VectorStore, fx_vec: Vec) -> None:
    stranger = uuid4()
    assert fx_store.count(stranger) == 0
    assert fx_store.search(stranger, uuid4(), query_text="alpha", vector=fx_vec(1)) == []
    assert fx_store.delete_document(stranger, uuid4()) == 0
    fx_store.upsert(stranger, [])
    fx_store.ping()


def test_concurrent_upserts_from_8_threads_all_land(
    fx_store: VectorStore, fx_customer: UUID, fx_vec: Vec
) -> None:
    bot = uuid4()
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            start.wait()
            doc = uuid4()
            for batch in range(5):
                fx_store.upsert(
                    fx_customer,
                    [
                        chunk(doc, bot, batch * 5 + i, f"thread{n} chunk{i}", fx_vec(n * 100 + i))
                        for i in range(5)
                    ],
                )
                fx_store.search(fx_customer, bot, query_text=f"thread{n}", vector=fx_vec(n))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert fx_store.count(fx_customer, bot) == 8 * 25
    hits = fx_store.search(fx_customer, bot, query_text="thread3", vector=None, mode="keyword")
    assert hits and all(h.text.startswith("thread3 ") for h in hits)


def test_scoped_vectors_pins_the_tenant(fx_store: VectorStore, fx_vec: Vec) -> None:
    customer_a, customer_b, bot = uuid4(), uuid4(), uuid4()
    a = ScopedVectors(fx_store, customer_a)
    b = ScopedVectors(fx_store, customer_b)
    doc = uuid4()
    a.upsert([chunk(doc, bot, 0, "scoped alpha", fx_vec(1))])

    assert a.customer_id == customer_a
    assert a.dimensions == DIMS
    assert a.count() == 1 and a.count(bot) == 1
    assert fx_store.count(customer_a, bot) == 1
    assert b.count() == 0
    assert b.search(bot, query_text="scoped", vector=fx_vec(1)) == []
    assert b.delete_document(doc) == 0
    assert b.delete_chatbot(bot) == 0
    assert [h.text for h in a.search(bot, query_text="scoped", vector=fx_vec(1))] == [
        "scoped alpha"
    ]
    assert a.delete_document(doc) == 1
    assert a.count() == 0
    with pytest.raises(VectorStoreError):
        ScopedVectors(fx_store, "not-a-uuid")  # type: ignore[arg-type]


# -- embedded backend only ----------------------------------------------------------


def test_reopening_with_other_dimensions_raises(tmp_path: Path) -> None:
    path = tmp_path / "vectors.db"
    SqliteVecStore(path, DIMS).close()
    with pytest.raises(VectorStoreError, match="reindex"):
        SqliteVecStore(path, DIMS * 2)
    SqliteVecStore(path, DIMS).close()  # the right dimensions still open it


def test_a_file_that_is_not_a_store_raises(tmp_path: Path) -> None:
    path = tmp_path / "vectors.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(VectorStoreError):
        SqliteVecStore(path, DIMS)


def test_quantised_path_matches_the_exact_one(tmp_path: Path, fx_vec: Vec) -> None:
    # exact_limit=0 forces the bit-code coarse pass + exact re-score on every search; on a
    # scope smaller than the candidate count it must give exactly the exact answer.
    exact = SqliteVecStore(tmp_path / "exact.db", DIMS)
    coarse = SqliteVecStore(tmp_path / "coarse.db", DIMS, exact_limit=0)
    customer, bot, other_bot = uuid4(), uuid4(), uuid4()
    for store in (exact, coarse):
        seed_docs(store, customer, bot, fx_vec, n=30)
        seed_docs(store, customer, other_bot, fx_vec, n=30)
    for seed in range(5):
        query = near(fx_vec(seed), seed, 0.5)
        exact_hits, coarse_hits = (
            s.search(customer, bot, query_text="", vector=query, mode="vector", limit=8)
            for s in (exact, coarse)
        )
        assert [h.text for h in coarse_hits] == [h.text for h in exact_hits]
        assert [h.score for h in coarse_hits] == pytest.approx([h.score for h in exact_hits])
    exact.close()
    coarse.close()


def test_words_common_in_a_big_tenant_are_dropped(
    tmp_path: Path, fx_vec: Vec, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real threshold is 1,500 chunks; shrink it so a small corpus has common words.
    monkeypatch.setattr(sqlite_store, "_COMMON_TERM_ROWS", 3)
    store = SqliteVecStore(tmp_path / "vectors.db", DIMS)
    customer, bot = uuid4(), uuid4()
    seed_docs(store, customer, bot, fx_vec, n=8)  # every text has 6 of WORDS
    rare = chunk(uuid4(), bot, 0, "alpha beta zanzibar", fx_vec(50))
    store.upsert(customer, [rare])

    def keyword(text: str) -> list[UUID]:
        hits = store.search(customer, bot, query_text=text, vector=None, mode="keyword")
        return [h.document_id for h in hits]

    assert keyword("alpha beta zanzibar") == [rare.document_id]
    assert keyword("alpha beta") == []  # only common words: no keyword ranking
    hybrid = store.search(customer, bot, query_text="alpha", vector=fx_vec(2), limit=3)
    assert len(hybrid) == 3  # ... and hybrid rests on the vector side
    store.close()


def test_keyword_scores_ignore_other_tenants(tmp_path: Path, fx_vec: Vec) -> None:
    # bm25 statistics are per customer: A's documents must not move B's scores.
    shared = SqliteVecStore(tmp_path / "shared.db", DIMS)
    alone = SqliteVecStore(tmp_path / "alone.db", DIMS)
    customer_a, customer_b, bot = uuid4(), uuid4(), uuid4()
    shared.upsert(
        customer_a, [chunk(uuid4(), bot, 0, f"zebra zebra {i}", fx_vec(i)) for i in range(30)]
    )
    texts = ["zebra crossing rules", "parking rules", "speed limits", "bus lanes"]
    b_chunks = [chunk(uuid4(), bot, 0, text, fx_vec(90 + i)) for i, text in enumerate(texts)]
    scores = []
    for store in (shared, alone):
        store.upsert(customer_b, b_chunks)
        hits = store.search(customer_b, bot, query_text="zebra rules", vector=None, mode="keyword")
        scores.append([h.score for h in hits])
    assert len(scores[0]) == 2
    assert scores[0] == pytest.approx(scores[1])
    shared.close()
    alone.close()


def test_closed_store_refuses_work(tmp_path: Path, fx_vec: Vec) -> None:
    store = SqliteVecStore(tmp_path / "vectors.db", DIMS)
    store.close()
    with pytest.raises(VectorStoreError, match="closed"):
        store.count(uuid4())


def test_open_vector_store_defaults_to_the_embedded_file(tmp_path: Path) -> None:
    path = tmp_path / "var" / "vectors.db"
    store = open_vector_store(
        weaviate_url=None, weaviate_api_key=None, sqlite_path=path, dimensions=DIMS
    )
    assert isinstance(store, SqliteVecStore)
    assert isinstance(store, VectorStore)
    assert path.exists()
    store.ping()
    store.close()


def test_bad_weaviate_url_raises() -> None:
    with pytest.raises(VectorStoreError, match="WEAVIATE_URL"):
        open_vector_store(
            weaviate_url="localhost:8080", weaviate_api_key=None, sqlite_path=Path(), dimensions=4
        )


def test_unreachable_weaviate_fails_loudly() -> None:
    # Nothing listens on port 1 of this machine: start-up must fail, not limp on.
    with pytest.raises(VectorStoreError, match="cannot connect"):
        open_vector_store(
            weaviate_url="http://127.0.0.1:1",
            weaviate_api_key=None,
            sqlite_path=Path(),
            dimensions=4,
        )


_WRITER = """
import sys, uuid
import numpy as np
from core.vectors import ChunkRecord
from core.vectors import sqlite_store
from core.vectors.sqlite_store import SqliteVecStore
path, customer, bot, tag = sys.argv[1], uuid.UUID(sys.argv[2]), uuid.UUID(sys.argv[3]), sys.argv[4]
store = SqliteVecStore(path, int(sys.argv[5]))
rng = np.random.default_rng(len(tag))
for batch in range(10):
    doc = uuid.uuid4()
    store.upsert(customer, [
        ChunkRecord(doc, bot, i, f"{tag} chunk", rng.standard_normal(store.dimensions).tolist())
        for i in range(10)
    ])
store.close()
"""


def test_two_processes_write_the_same_file(tmp_path: Path) -> None:
    # The API and a worker are separate processes sharing var/vectors.db.
    path = tmp_path / "vectors.db"
    SqliteVecStore(path, DIMS).close()
    customer, bot = uuid4(), uuid4()
    args = [str(path), str(customer), str(bot)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, *args, tag, str(DIMS)],
            cwd=Path(__file__).resolve().parents[3],
            stderr=subprocess.PIPE,
        )
        for tag in ("api", "worker")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    store = SqliteVecStore(path, DIMS)
    assert store.count(customer, bot) == 200
    hits = store.search(customer, bot, query_text="worker", vector=None, mode="keyword", limit=50)
    assert len(hits) == 50 and all(h.text == "worker chunk" for h in hits)
    store.close()
