"""Search latency of the embedded vector store against numpy brute force, same run.

    python bench/search.py [--chunks 100000] [--queries 200]

Fills a fresh SqliteVecStore (temp dir) with N random unit 384-dim vectors and
random-word texts in one tenant / one chatbot, then times vector (as configured, and
forced exact), keyword and hybrid searches at limit 10, and a plain numpy top-k over the
same matrix. Prints p50/p99, the ratio of each p50 to numpy's, and the recall@10 of the
vector modes against the exact answer. Prints figures, never pass/fail.

Random isotropic vectors are the worst case for the bit-code coarse pass (every point
is nearly equidistant from every other), so recall is also shown for "near" queries — a
stored vector plus noise (cosine ~0.7) — which look more like real retrieval.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID, uuid4

# One BLAS thread: the store answers a query on one thread, so the baseline does too
# (and a threaded BLAS on a busy 2-CPU machine mostly measures contention).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402 - after the BLAS thread setting
import numpy.typing as npt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.vectors import ChunkRecord, SearchHit, SearchMode  # noqa: E402
from core.vectors.sqlite_store import SqliteVecStore  # noqa: E402

DIMS = 384
LIMIT = 10
CHUNKS_PER_DOCUMENT = 50
BATCH = 5_000

Matrix = npt.NDArray[np.float32]


def unit_rows(rng: np.random.Generator, n: int) -> Matrix:
    m = rng.standard_normal((n, DIMS), dtype=np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    return m


def vocabulary(rng: np.random.Generator, size: int = 20_000) -> list[str]:
    syllables = [c + v for c in "bcdfghjklmnprstvz" for v in "aeiou"]
    words = {"".join(rng.choice(syllables, size=rng.integers(2, 5))) for _ in range(size * 2)}
    return sorted(words)[:size]


def zipf_words(rng: np.random.Generator, vocab: list[str], n: int) -> list[str]:
    # Zipf-like, so some words are common and most are rare, as in real text.
    ranks = np.minimum(rng.zipf(1.2, size=n), len(vocab)) - 1
    return [vocab[r] for r in ranks]


def fill(
    store: SqliteVecStore, customer: UUID, bot: UUID, vectors: Matrix, vocab: list[str]
) -> tuple[float, dict[tuple[UUID, int], int]]:
    rng = np.random.default_rng(7)
    index: dict[tuple[UUID, int], int] = {}
    started = time.perf_counter()
    doc = uuid4()
    for start in range(0, len(vectors), BATCH):
        batch: list[ChunkRecord] = []
        for row in range(start, min(start + BATCH, len(vectors))):
            if row % CHUNKS_PER_DOCUMENT == 0:
                doc = uuid4()
            ordinal = row % CHUNKS_PER_DOCUMENT
            text = " ".join(zipf_words(rng, vocab, 60))
            batch.append(ChunkRecord(doc, bot, ordinal, text, vectors[row]))
            index[(doc, ordinal)] = row
        store.upsert(customer, batch)
    return time.perf_counter() - started, index


def timed(runs: list[Callable[[], object]]) -> tuple[float, float]:
    for run in runs[:5]:  # warm the page cache and statement cache
        run()
    times = []
    for run in runs:
        t = time.perf_counter()
        run()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def numpy_top(matrix: Matrix, query: Matrix) -> npt.NDArray[np.intp]:
    scores = matrix @ query
    top = np.argpartition(-scores, LIMIT)[:LIMIT]
    return top[np.argsort(-scores[top])]


def recall(
    hits: list[SearchHit], truth: npt.NDArray[np.intp], index: dict[tuple[UUID, int], int]
) -> float:
    got = {index[(h.document_id, h.ordinal)] for h in hits}
    return len(got & set(truth.tolist())) / LIMIT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    rng = np.random.default_rng(42)
    vectors = unit_rows(rng, args.chunks)
    vocab = vocabulary(rng)
    customer, bot = uuid4(), uuid4()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vectors.db"
        store = SqliteVecStore(path, DIMS)
        elapsed, index = fill(store, customer, bot, vectors, vocab)
        size_mb = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 1e6
        print(
            f"filled {args.chunks} chunks x {DIMS} dims in {elapsed:.1f} s "
            f"({args.chunks / elapsed:,.0f} chunks/s), {size_mb:.0f} MB on disk"
        )
        # A second handle on the same file that always scans exactly, for comparison.
        exact = SqliteVecStore(path, DIMS, exact_limit=args.chunks + 1)

        queries = unit_rows(rng, args.queries)
        sources = rng.integers(0, args.chunks, size=args.queries)
        noisy = vectors[sources] + 0.9 * unit_rows(rng, args.queries)
        near = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
        texts = [" ".join(zipf_words(rng, vocab, 3)) for _ in range(args.queries)]

        def search(s: SqliteVecStore, mode: SearchMode, q: Matrix, text: str) -> list[SearchHit]:
            return s.search(customer, bot, query_text=text, vector=q, limit=LIMIT, mode=mode)

        base_p50, base_p99 = timed([lambda q=q: numpy_top(vectors, q) for q in queries])
        rows = [("numpy brute force (baseline)", base_p50, base_p99, "1.00", "-")]
        label = "vector (coarse+re-score)" if args.chunks > store.exact_limit else "vector (exact)"
        for name, s, mode in [
            (label, store, "vector"),
            ("vector (forced exact scan)", exact, "vector"),
            ("keyword (FTS5 bm25)", store, "keyword"),
            ("hybrid (RRF, alpha 0.5)", store, "hybrid"),
        ]:
            runs = [
                lambda s=s, mode=mode, q=q, t=t: search(s, mode, q, t)
                for q, t in zip(queries, texts, strict=True)
            ]
            p50, p99 = timed(runs)
            quality = "1.00 (exact)" if s is exact else "-"
            if mode == "vector" and s is store:
                r_rand = np.mean(
                    [recall(search(s, mode, q, ""), numpy_top(vectors, q), index) for q in queries]
                )
                r_near = np.mean(
                    [recall(search(s, mode, q, ""), numpy_top(vectors, q), index) for q in near]
                )
                quality = f"{r_rand:.2f} random / {r_near:.2f} near"
            rows.append((name, p50, p99, f"{p50 / base_p50:.2f}", quality))

        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"\n{args.queries} queries, limit {LIMIT}, one tenant of {args.chunks} chunks")
        print(f"(load average {load} on {os.cpu_count()} CPUs: other work inflates all rows)")
        print(f"{'search':32} {'p50 ms':>8} {'p99 ms':>8} {'p50/numpy':>10}  recall@10")
        for name, p50, p99, ratio, quality in rows:
            print(f"{name:32} {p50:8.2f} {p99:8.2f} {ratio:>10}  {quality}")
        store.close()
        exact.close()


if __name__ == "__main__":
    main()
