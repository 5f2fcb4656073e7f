"""The embedded vector store: one SQLite file with sqlite-vec and FTS5.

Layout (one file, e.g. var/vectors.db):

- ``scopes``: one row per (customer, chatbot) with a small integer id and a chunk count.
  Every read starts by resolving the scope *with the customer*, so customer B asking for
  A's chatbot id finds no scope and gets nothing.
- chunk ids are ``scope_id << 32 | n``, so each scope is one contiguous rowid range in
  every table below, and every read is bounded to that range.
- ``chunks``: the chunk catalogue (customer, document, ordinal, text).
- ``chunk_embeddings``: the float32 vector of each chunk (unit length), for exact scoring.
- ``chunk_codes``: a vec0 table of 1-bit codes (sign of each dimension) partitioned by
  customer, with the scope as a metadata column: the coarse pass for big scopes.
- ``chunk_fts_<n>``: one contentless FTS5 index per customer (``customers`` maps the
  customer to n), queried within the scope's range. Per customer because FTS5's bm25
  reads its statistics from the whole table: shared, one tenant's documents would move
  another's scores, and a word common across all tenants would be slow for every one.

Vector search is exact for scopes of up to ``exact_limit`` chunks (a cosine scan over
the scope's range of ``chunk_embeddings``, ~1.5-3 us a chunk: the sqlite-vec wheel is
built without SIMD). Above that a Hamming KNN over the bit codes (~10 ms at 100k) picks
candidates that are then re-scored exactly. That is approximate: see bench/search.py
and the constructor for latency and recall figures.

Keyword search is FTS5 bm25 over the quoted words of the query (OR). Words common in
the customer's corpus are dropped (see _keyword_ranked), which bounds what FTS5 reads.

Concurrency: WAL mode, one connection per thread, writes in ``BEGIN IMMEDIATE`` behind a
process-local lock (so threads queue on the lock instead of SQLite's sleeping busy
handler) and a busy timeout for the other process (API and worker share the file).
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from uuid import UUID

import numpy as np
import numpy.typing as npt
import pysqlite3.dbapi2 as sqlite3
import sqlite_vec

from core.vectors.base import (
    ChunkRecord,
    SearchHit,
    SearchMode,
    VectorStoreError,
    as_matrix,
    as_query_vector,
    check_chunks,
    check_customer,
    check_search_args,
    keyword_terms,
    rrf_fuse,
)

# 2: chunk ids by scope range, one FTS table per customer (1 had a shared FTS table).
SCHEMA_VERSION = "2"
# vec0 refuses k above this (its default max_k).
_VEC0_MAX_K = 4096


class _Connection(sqlite3.Connection):
    """A plain connection that can be weakly referenced (the C type can't)."""


class SqliteVecStore:
    """VectorStore over one SQLite file; safe from many threads and several processes."""

    def __init__(
        self,
        path: Path,
        dimensions: int,
        *,
        exact_limit: int = 5_000,
        oversample: int = 5,
        min_candidates: int = 50,
        max_candidates: int = 100,
        busy_timeout_s: float = 30.0,
    ) -> None:
        """Open (creating if needed) the store at ``path``.

        ``exact_limit``: scopes with at most this many chunks are scanned exactly.
        Above it, the bit-code pass keeps ``wanted * oversample`` candidates, clamped to
        [min_candidates, max_candidates], for exact re-scoring. Each candidate costs
        ~0.1 ms at 100k chunks. Measured once on 8k real docstrings embedded with the
        bundled MiniLM: 50 candidates gave a recall@10 of 0.90, 100 gave 0.95, 200 gave
        0.98 (random vectors, as in bench/search.py, are far worse: ~0.2).
        """
        if dimensions < 1:
            raise VectorStoreError(f"dimensions must be positive, got {dimensions}")
        self.dimensions = dimensions
        self.path = Path(path)
        self.exact_limit = exact_limit
        self.oversample = oversample
        self.min_candidates = min_candidates
        self.max_candidates = max_candidates
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        # Weak, so a connection dies with the thread that opened it; close() closes the rest.
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VectorStoreError(f"cannot create {self.path.parent}: {exc}") from exc
        try:
            self._init_schema()
        except BaseException:
            self.close()
            raise

    # -- connections ---------------------------------------------------------------

    def _connect(self) -> _Connection:
        with _sqlite_errors(f"cannot open vector store {self.path}"):
            conn = sqlite3.connect(
                str(self.path),
                factory=_Connection,
                timeout=self._busy_timeout_s,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # only so close() may close it from another thread
            )
            try:
                conn.enable_load_extension(True)
                sqlite_vec.load(conn)
                conn.enable_load_extension(False)
                # NORMAL is durable across application crashes in WAL mode; a power loss
                # may drop the last commits, which a reindex from DocumentChunk repairs.
                conn.execute("PRAGMA synchronous = NORMAL")
                # Searches rescan a scope's bit codes (48 bytes a chunk at 384 dims): read
                # them through a shared memory map rather than a per-connection cache.
                conn.execute("PRAGMA mmap_size = 1073741824")
                conn.execute("PRAGMA cache_size = -16384")
            except BaseException:
                conn.close()
                raise
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise VectorStoreError("vector store is closed")
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._connections_lock:
                self._connections.add(conn)
        return conn

    @contextmanager
    def _read(self, what: str) -> Iterator[sqlite3.Connection]:
        # One read transaction, so a search sees one snapshot across its statements.
        conn = self._conn()
        with _sqlite_errors(what):
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        with self._write_lock, _sqlite_errors(what):
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _init_schema(self) -> None:
        conn = self._conn()
        with _sqlite_errors(f"cannot initialise vector store {self.path}"):
            # Both only take effect on a new file (a no-op after) and must come first.
            # 8 KiB pages hold five 384-dim vectors where 4 KiB pages waste a quarter.
            conn.execute("PRAGMA page_size = 8192")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise VectorStoreError(f"{self.path}: cannot switch to WAL mode (got {mode})")
        with self._write(f"cannot initialise vector store {self.path}") as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if not meta:
                for statement in _schema_statements(self.dimensions):
                    conn.execute(statement)
                conn.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("schema_version", SCHEMA_VERSION), ("dimensions", str(self.dimensions))],
                )
                return
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise VectorStoreError(
                f"{self.path} has vector-store schema {meta.get('schema_version')!r}, "
                f"this code needs {SCHEMA_VERSION!r}: delete the file and reindex the documents"
            )
        if meta.get("dimensions") != str(self.dimensions):
            raise VectorStoreError(
                f"{self.path} holds {meta.get('dimensions')}-dimension vectors but the "
                f"embedder makes {self.dimensions}-dimension ones: the documents need a "
                f"reindex (delete the file, then reindex every document)"
            )

    # -- writes --------------------------------------------------------------------

    def upsert(self, customer_id: UUID, chunks: Sequence[ChunkRecord]) -> None:
        customer = str(check_customer(customer_id))
        check_chunks(chunks)
        if not chunks:
            return
        # Last one wins when a batch repeats a (document, ordinal).
        latest = {(c.document_id, c.ordinal): i for i, c in enumerate(chunks)}
        unique = [chunks[i] for i in sorted(latest.values())]
        matrix = as_matrix([c.vector for c in unique], self.dimensions)
        with self._write("upsert failed") as conn:
            fts = _ensure_customer_fts(conn, customer)
            scopes = {
                bot: _ensure_scope(conn, customer, bot) for bot in {c.chatbot_id for c in unique}
            }
            old = _existing_ids(conn, customer, unique)
            _delete_ids(conn, fts, old)
            next_id = {scope: _next_id(conn, scope) for scope in set(scopes.values())}
            ids: list[int] = []
            for c in unique:
                scope = scopes[c.chatbot_id]
                ids.append(next_id[scope])
                next_id[scope] += 1
            conn.executemany(
                "INSERT INTO chunks (id, customer_id, document_id, ordinal, text)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (i, customer, str(c.document_id), c.ordinal, c.text)
                    for i, c in zip(ids, unique, strict=True)
                ],
            )
            blobs = [vec.tobytes() for vec in matrix]
            conn.executemany(
                "INSERT INTO chunk_embeddings (chunk_id, vector) VALUES (?, ?)",
                zip(ids, blobs, strict=True),
            )
            conn.executemany(
                "INSERT INTO chunk_codes (rowid, customer_id, scope_id, code)"
                " VALUES (?, ?, ?, vec_quantize_binary(vec_f32(?)))",
                [(i, customer, i >> _SCOPE_BITS, blob) for i, blob in zip(ids, blobs, strict=True)],
            )
            conn.executemany(
                _on(fts, "INSERT INTO {fts} (rowid, body) VALUES (?, ?)"),
                [(i, c.text) for i, c in zip(ids, unique, strict=True)],
            )
            _adjust_counts(conn, added=ids, removed=old)

    def delete_document(self, customer_id: UUID, document_id: UUID) -> int:
        customer = str(check_customer(customer_id))
        with self._write("delete_document failed") as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM chunks WHERE customer_id = ? AND document_id = ?",
                    (customer, str(document_id)),
                )
            ]
            fts = _customer_fts(conn, customer)
            if fts is not None:
                _delete_ids(conn, fts, ids)
            _adjust_counts(conn, added=[], removed=ids)
        return len(ids)

    def delete_chatbot(self, customer_id: UUID, chatbot_id: UUID) -> int:
        customer = str(check_customer(customer_id))
        with self._write("delete_chatbot failed") as conn:
            scope = _find_scope(conn, customer, chatbot_id)
            fts = _customer_fts(conn, customer)
            if scope is None or fts is None:
                return 0
            low, high = _id_range(scope[0])
            ids = [
                row[0]
                for row in conn.execute(
                    # `+` keeps the planner on the rowid range (not the customer index).
                    "SELECT id FROM chunks WHERE id BETWEEN ? AND ? AND +customer_id = ?",
                    (low, high, customer),
                )
            ]
            _delete_ids(conn, fts, ids)
            conn.execute("DELETE FROM scopes WHERE id = ?", (scope[0],))
        return len(ids)

    # -- reads ---------------------------------------------------------------------

    def search(
        self,
        customer_id: UUID,
        chatbot_id: UUID,
        *,
        query_text: str,
        vector: Sequence[float] | None,
        limit: int = 5,
        mode: SearchMode = "hybrid",
        alpha: float = 0.5,
    ) -> list[SearchHit]:
        """Best chunks first.

        Scores: ``vector`` cosine similarity; ``keyword`` minus FTS5's bm25 (so higher
        is better); ``hybrid`` weighted reciprocal-rank fusion. Hybrid without a query
        vector is keyword search; alpha 1 / 0 skip the keyword / vector side entirely.
        """
        customer = str(check_customer(customer_id))
        check_search_args(mode, limit, alpha)
        query = None if vector is None else as_query_vector(vector, self.dimensions)
        if mode == "vector" and query is None:
            raise VectorStoreError("vector search needs a query vector")
        use_vector = query is not None and (mode == "vector" or (mode == "hybrid" and alpha > 0))
        use_keyword = mode == "keyword" or (mode == "hybrid" and (alpha < 1 or query is None))
        # Each side of a fusion brings more than `limit`, so a chunk ranked well by both
        # but just outside one list's head can still win.
        depth = max(limit * 3, 30) if mode == "hybrid" else limit
        with self._read("search failed") as conn:
            scope = _find_scope(conn, customer, chatbot_id)
            fts = _customer_fts(conn, customer)
            if scope is None or fts is None:
                return []
            scope_id, size = scope
            by_vector: list[tuple[int, float]] = []
            by_keyword: list[tuple[int, float]] = []
            if use_vector and query is not None:
                by_vector = self._vector_ranked(conn, customer, scope_id, size, query, depth)
            if use_keyword:
                by_keyword = _keyword_ranked(conn, fts, scope_id, query_text, depth)
            if use_vector and use_keyword:
                fused = rrf_fuse([i for i, _ in by_vector], [i for i, _ in by_keyword], alpha)
                ranked = fused[:limit]
            else:
                ranked = (by_vector or by_keyword)[:limit]
            return _load_hits(conn, customer, scope_id, chatbot_id, ranked)

    def _vector_ranked(
        self,
        conn: sqlite3.Connection,
        customer: str,
        scope_id: int,
        size: int,
        query: npt.NDArray[np.float32],
        wanted: int,
    ) -> list[tuple[int, float]]:
        blob = query.tobytes()
        low, high = _id_range(scope_id)
        if size <= self.exact_limit:
            # The scope's vectors are one contiguous rowid range: a sequential scan.
            rows = conn.execute(
                "SELECT chunk_id, vec_distance_cosine(vector, ?) AS d FROM chunk_embeddings"
                " WHERE chunk_id BETWEEN ? AND ? ORDER BY d, chunk_id LIMIT ?",
                (blob, low, high, wanted),
            ).fetchall()
        else:
            k = min(wanted * self.oversample, self.max_candidates, _VEC0_MAX_K)
            k = max(k, self.min_candidates, wanted)
            # The partition key (customer) restricts the scan to this tenant's shard; the
            # scope metadata column is applied during the KNN, so all k are this chatbot's.
            rows = conn.execute(
                "WITH coarse AS ("
                "  SELECT rowid FROM chunk_codes"
                "  WHERE code MATCH vec_quantize_binary(vec_f32(?)) AND k = ?"
                "    AND customer_id = ? AND scope_id = ?"
                ") SELECT e.chunk_id, vec_distance_cosine(e.vector, ?) AS d"
                " FROM coarse CROSS JOIN chunk_embeddings AS e ON e.chunk_id = coarse.rowid"
                " WHERE e.chunk_id BETWEEN ? AND ?"
                " ORDER BY d, e.chunk_id LIMIT ?",
                (blob, k, customer, scope_id, blob, low, high, wanted),
            ).fetchall()
        return [(chunk_id, 1.0 - distance) for chunk_id, distance in rows]

    def count(self, customer_id: UUID, chatbot_id: UUID | None = None) -> int:
        customer = str(check_customer(customer_id))
        with self._read("count failed") as conn:
            if chatbot_id is None:
                row = conn.execute(
                    "SELECT coalesce(sum(chunk_count), 0) FROM scopes WHERE customer_id = ?",
                    (customer,),
                ).fetchone()
                return int(row[0])
            scope = _find_scope(conn, customer, chatbot_id)
            return 0 if scope is None else scope[1]

    def ping(self) -> None:
        with _sqlite_errors(f"vector store {self.path} unreachable"):
            self._conn().execute("SELECT count(*) FROM meta").fetchone()

    def close(self) -> None:
        self._closed = True
        with self._connections_lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            # Best effort: a connection that fails to close has nothing left to lose.
            with suppress(sqlite3.Error):
                conn.close()


# -- SQL helpers (module level: they take the connection of the current transaction) --


def _schema_statements(dimensions: int) -> list[str]:
    return [
        """CREATE TABLE scopes (
            id INTEGER PRIMARY KEY,
            customer_id TEXT NOT NULL,
            chatbot_id TEXT NOT NULL,
            chunk_count INTEGER NOT NULL DEFAULT 0,
            UNIQUE (customer_id, chatbot_id)
        )""",
        # Chunk ids are (scope id << 32) + n: every table keyed by chunk id then holds a
        # scope's rows as one contiguous range (see _id_range).
        """CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            customer_id TEXT NOT NULL,
            document_id TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            text TEXT NOT NULL,
            UNIQUE (customer_id, document_id, ordinal)
        )""",
        # Vectors apart from the text, so scans and re-scoring don't page through text.
        "CREATE TABLE chunk_embeddings (chunk_id INTEGER PRIMARY KEY, vector BLOB NOT NULL)",
        f"""CREATE VIRTUAL TABLE chunk_codes USING vec0(
            customer_id TEXT PARTITION KEY,
            scope_id INTEGER,
            code BIT[{dimensions}]
        )""",
        # Which chunk_fts_<n> table holds a customer's text (created on its first upsert).
        """CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            customer_id TEXT NOT NULL UNIQUE
        )""",
    ]


def _customer_fts(conn: sqlite3.Connection, customer: str) -> str | None:
    row = conn.execute("SELECT id FROM customers WHERE customer_id = ?", (customer,)).fetchone()
    # The name is built from our own integer id, never from input.
    return None if row is None else f"chunk_fts_{int(row[0])}"


def _ensure_customer_fts(conn: sqlite3.Connection, customer: str) -> str:
    existing = _customer_fts(conn, customer)
    if existing is not None:
        return existing
    number = conn.execute("INSERT INTO customers (customer_id) VALUES (?)", (customer,)).lastrowid
    table = f"chunk_fts_{int(number)}"
    # Contentless: the text lives in `chunks`; contentless_delete allows plain DELETEs.
    conn.execute(
        _on(
            table,
            "CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5("
            " body, content = '', contentless_delete = 1,"
            " tokenize = 'unicode61 remove_diacritics 2')",
        )
    )
    return table


_FTS_NAME = re.compile(r"chunk_fts_[0-9]+")


def _on(fts: str, sql: str) -> str:
    """Put a customer's FTS table name into ``sql`` (names can't be bound parameters)."""
    # Names only come from _customer_fts (our own integer ids); check it all the same.
    if not _FTS_NAME.fullmatch(fts):
        raise VectorStoreError(f"bad FTS table name {fts!r}")
    return sql.replace("{fts}", fts)


_SCOPE_BITS = 32
_MAX_LOCAL_ID = (1 << _SCOPE_BITS) - 1


def _id_range(scope_id: int) -> tuple[int, int]:
    """The inclusive chunk-id range of a scope (FTS5 and SQLite seek on rowid ranges)."""
    low = scope_id << _SCOPE_BITS
    return low, low + _MAX_LOCAL_ID


def _next_id(conn: sqlite3.Connection, scope_id: int) -> int:
    low, high = _id_range(scope_id)
    top = conn.execute(
        "SELECT id FROM chunks WHERE id BETWEEN ? AND ? ORDER BY id DESC LIMIT 1", (low, high)
    ).fetchone()
    last = None if top is None else top[0]
    if last is not None and last >= high - 1_000_000:
        # Ids are max + 1, so only ~4 billion inserts into one chatbot without a single
        # delete_chatbot could get here; a reindex of the chatbot starts it over.
        raise VectorStoreError("chunk ids of this chatbot are exhausted: reindex it")
    return low + 1 if last is None else last + 1


def _find_scope(
    conn: sqlite3.Connection, customer: str, chatbot_id: UUID
) -> tuple[int, int] | None:
    row = conn.execute(
        "SELECT id, chunk_count FROM scopes WHERE customer_id = ? AND chatbot_id = ?",
        (customer, str(chatbot_id)),
    ).fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


def _ensure_scope(conn: sqlite3.Connection, customer: str, chatbot_id: UUID) -> int:
    conn.execute(
        "INSERT OR IGNORE INTO scopes (customer_id, chatbot_id) VALUES (?, ?)",
        (customer, str(chatbot_id)),
    )
    scope = _find_scope(conn, customer, chatbot_id)
    assert scope is not None  # inserted just above, inside the same transaction
    return scope[0]


def _existing_ids(
    conn: sqlite3.Connection, customer: str, chunks: Sequence[ChunkRecord]
) -> list[int]:
    found: list[int] = []
    for chunk in chunks:
        row = conn.execute(
            "SELECT id FROM chunks WHERE customer_id = ? AND document_id = ? AND ordinal = ?",
            (customer, str(chunk.document_id), chunk.ordinal),
        ).fetchone()
        if row is not None:
            found.append(int(row[0]))
    return found


def _delete_ids(conn: sqlite3.Connection, fts: str, ids: Sequence[int]) -> None:
    # One row at a time: vec0 only takes its fast point path for `rowid = ?` (an IN
    # list makes it scan the whole table).
    params = [(i,) for i in ids]
    conn.executemany("DELETE FROM chunk_codes WHERE rowid = ?", params)
    conn.executemany(_on(fts, "DELETE FROM {fts} WHERE rowid = ?"), params)
    conn.executemany("DELETE FROM chunk_embeddings WHERE chunk_id = ?", params)
    conn.executemany("DELETE FROM chunks WHERE id = ?", params)


def _adjust_counts(conn: sqlite3.Connection, added: Sequence[int], removed: Sequence[int]) -> None:
    """Move each scope's chunk_count by the chunk ids added and removed in this write.

    Deltas, not recounts: a count over a 100k-chunk range reads every page of it. They
    are exact because they run in the same transaction as the rows they describe.
    """
    delta: dict[int, int] = {}
    for chunk_id in added:
        delta[chunk_id >> _SCOPE_BITS] = delta.get(chunk_id >> _SCOPE_BITS, 0) + 1
    for chunk_id in removed:
        delta[chunk_id >> _SCOPE_BITS] = delta.get(chunk_id >> _SCOPE_BITS, 0) - 1
    conn.executemany(
        "UPDATE scopes SET chunk_count = chunk_count + ? WHERE id = ?",
        [(change, scope) for scope, change in delta.items() if change],
    )


# A word in more of the customer's chunks than this is "common" (think "the", "is"). FTS5's
# bm25 counts every row holding each query word (for its IDF) on every query, so one
# common word costs ~50 ms at 100k chunks while adding almost nothing to the ranking:
# common words are dropped. Probing for them stops at this many rows (~0.2 ms).
_COMMON_TERM_ROWS = 1_500
# FTS5 scores every match before sorting: cap how many one query may score.
_MAX_SCORED_ROWS = 6_000


def _keyword_ranked(
    conn: sqlite3.Connection, fts: str, scope_id: int, query_text: str, wanted: int
) -> list[tuple[int, float]]:
    """Chunk ids of the scope by bm25, best first; [] when no distinctive word matches.

    A query made only of common words gets no keyword ranking (hybrid search then
    rests on the vector side). Tenants with at most _COMMON_TERM_ROWS chunks never
    have common words, so they get plain bm25 over all the words.
    """
    low, high = _id_range(scope_id)
    rare: list[str] = []
    for term in keyword_terms(query_text):
        # Letters and digits only, double-quoted: no user text can become FTS5 syntax.
        phrase = f'"{term}"'
        # Counted over the customer's whole table, as bm25's statistics are.
        rows = conn.execute(
            _on(fts, "SELECT count(*) FROM (SELECT 1 FROM {fts} WHERE {fts} MATCH ? LIMIT ?)"),
            (phrase, _COMMON_TERM_ROWS + 1),
        ).fetchone()[0]
        if 0 < rows <= _COMMON_TERM_ROWS:
            rare.append(phrase)
    if not rare:
        return []
    # OR keeps recall; bm25 ranks chunks with more, and rarer, words first.
    found = conn.execute(
        _on(
            fts,
            "SELECT rowid, b FROM (SELECT rowid, bm25({fts}) AS b FROM {fts}"
            "  WHERE {fts} MATCH ? AND rowid BETWEEN ? AND ? LIMIT ?)"
            " ORDER BY b, rowid LIMIT ?",
        ),
        (" OR ".join(rare), low, high, _MAX_SCORED_ROWS, wanted),
    ).fetchall()
    return [(chunk_id, -b) for chunk_id, b in found]


def _load_hits(
    conn: sqlite3.Connection,
    customer: str,
    scope_id: int,
    chatbot_id: UUID,
    ranked: Sequence[tuple[int, float]],
) -> list[SearchHit]:
    if not ranked:
        return []
    low, high = _id_range(scope_id)
    # CROSS JOIN pins the loop order: look up each id, never scan the customer's chunks
    # (the planner would otherwise pick the customer_id index and read them all).
    rows = conn.execute(
        "SELECT c.id, c.document_id, c.ordinal, c.text"
        " FROM json_each(?) AS wanted CROSS JOIN chunks AS c ON c.id = wanted.value"
        " WHERE c.id BETWEEN ? AND ? AND c.customer_id = ?",
        (json.dumps([chunk_id for chunk_id, _ in ranked]), low, high, customer),
    ).fetchall()
    by_id = {row[0]: row for row in rows}
    return [
        SearchHit(
            document_id=UUID(by_id[chunk_id][1]),
            chatbot_id=chatbot_id,
            ordinal=by_id[chunk_id][2],
            text=by_id[chunk_id][3],
            score=float(score),
        )
        for chunk_id, score in ranked
        if chunk_id in by_id
    ]


@contextmanager
def _sqlite_errors(what: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise VectorStoreError(f"{what}: {exc}") from exc
