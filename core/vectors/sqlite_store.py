"""The embedded vector store: one SQLite file with sqlite-vec and FTS5.

Layout (one file, e.g. var/vectors.db):

- ``scopes``: one row per (customer, chatbot) with a small integer id and a chunk count.
  Every read starts by resolving the scope *with the customer*, so customer B asking for
  A's chatbot id finds no scope and gets nothing.
- ``chunks``: the chunk catalogue (customer, scope, document, ordinal, text).
- ``chunk_embeddings``: the float32 vector of each chunk (unit length), used for exact
  scoring.
- ``chunk_codes``: a vec0 table of 1-bit codes (sign of each dimension) partitioned by
  customer, with the scope as a metadata column; the coarse pass for big scopes.
- ``chunk_fts``: a contentless FTS5 index of the text plus a scope tag token.

Vector search is exact for scopes of up to ``exact_limit`` chunks (a cosine scan in SQL
over ``chunk_embeddings``). Above that, a brute-force float scan is too slow (sqlite-vec's
wheel is built without SIMD: ~85 ms for 100k x 384 here), so a Hamming KNN over the bit
codes picks candidates that are then re-scored exactly. That is approximate: see
bench/search.py for the latency and the recall it gives.

Concurrency: WAL mode, one connection per thread, writes in ``BEGIN IMMEDIATE`` behind a
process-local lock (so threads queue on the lock instead of SQLite's sleeping busy
handler) and a busy timeout for the other process (API and worker share the file).
"""

from __future__ import annotations

import json
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

SCHEMA_VERSION = "1"
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
        busy_timeout_s: float = 30.0,
    ) -> None:
        """Open (creating if needed) the store at ``path``.

        ``exact_limit``: scopes with at most this many chunks are scanned exactly.
        ``oversample``/``min_candidates``: above it, the bit-code pass keeps
        max(wanted * oversample, min_candidates) candidates for exact re-scoring.
        """
        if dimensions < 1:
            raise VectorStoreError(f"dimensions must be positive, got {dimensions}")
        self.dimensions = dimensions
        self.path = Path(path)
        self.exact_limit = exact_limit
        self.oversample = oversample
        self.min_candidates = min_candidates
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
        self._init_schema()

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
                # Searches rescan the bit codes and vectors of a scope: keep them cached.
                conn.execute("PRAGMA cache_size = -65536")
                conn.execute("PRAGMA mmap_size = 268435456")
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
            # Persistent in the file; a no-op once set. Must run outside a transaction.
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
            scopes = {
                bot: _ensure_scope(conn, customer, bot) for bot in {c.chatbot_id for c in unique}
            }
            old = _existing_ids(conn, customer, unique)
            touched = set(scopes.values()) | {scope for _, scope in old}
            _delete_ids(conn, [chunk_id for chunk_id, _ in old])
            first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM chunks").fetchone()[0]
            ids = range(first, first + len(unique))
            conn.executemany(
                "INSERT INTO chunks (id, customer_id, scope_id, document_id, ordinal, text)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (i, customer, scopes[c.chatbot_id], str(c.document_id), c.ordinal, c.text)
                    for i, c in zip(ids, unique, strict=True)
                ],
            )
            rows = [
                (i, scopes[c.chatbot_id], vec.tobytes())
                for i, c, vec in zip(ids, unique, matrix, strict=True)
            ]
            conn.executemany(
                "INSERT INTO chunk_embeddings (chunk_id, scope_id, vector) VALUES (?, ?, ?)", rows
            )
            conn.executemany(
                "INSERT INTO chunk_codes (rowid, customer_id, scope_id, code)"
                " VALUES (?, ?, ?, vec_quantize_binary(vec_f32(?)))",
                [(i, customer, scope, blob) for i, scope, blob in rows],
            )
            conn.executemany(
                "INSERT INTO chunk_fts (rowid, scope_tag, body) VALUES (?, ?, ?)",
                [
                    (i, _scope_tag(scopes[c.chatbot_id]), c.text)
                    for i, c in zip(ids, unique, strict=True)
                ],
            )
            _recount(conn, touched)

    def delete_document(self, customer_id: UUID, document_id: UUID) -> int:
        customer = str(check_customer(customer_id))
        with self._write("delete_document failed") as conn:
            rows = conn.execute(
                "SELECT id, scope_id FROM chunks WHERE customer_id = ? AND document_id = ?",
                (customer, str(document_id)),
            ).fetchall()
            _delete_ids(conn, [chunk_id for chunk_id, _ in rows])
            _recount(conn, {scope for _, scope in rows})
        return len(rows)

    def delete_chatbot(self, customer_id: UUID, chatbot_id: UUID) -> int:
        customer = str(check_customer(customer_id))
        with self._write("delete_chatbot failed") as conn:
            scope = _find_scope(conn, customer, chatbot_id)
            if scope is None:
                return 0
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM chunks WHERE customer_id = ? AND scope_id = ?",
                    (customer, scope[0]),
                )
            ]
            _delete_ids(conn, ids)
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
            if scope is None:
                return []
            scope_id, size = scope
            by_vector: list[tuple[int, float]] = []
            by_keyword: list[tuple[int, float]] = []
            if use_vector and query is not None:
                by_vector = self._vector_ranked(conn, customer, scope_id, size, query, depth)
            if use_keyword:
                by_keyword = _keyword_ranked(conn, scope_id, query_text, depth)
            if mode == "hybrid" and use_vector and use_keyword:
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
        if size <= self.exact_limit:
            rows = conn.execute(
                "SELECT chunk_id, vec_distance_cosine(vector, ?) AS d FROM chunk_embeddings"
                " WHERE scope_id = ? ORDER BY d, chunk_id LIMIT ?",
                (blob, scope_id, wanted),
            ).fetchall()
        else:
            k = min(_VEC0_MAX_K, max(wanted * self.oversample, self.min_candidates))
            # The partition key (customer) restricts the scan to this tenant's shard; the
            # scope metadata column is applied during the KNN, so all k are this chatbot's.
            rows = conn.execute(
                "WITH coarse AS ("
                "  SELECT rowid FROM chunk_codes"
                "  WHERE code MATCH vec_quantize_binary(vec_f32(?)) AND k = ?"
                "    AND customer_id = ? AND scope_id = ?"
                ") SELECT e.chunk_id, vec_distance_cosine(e.vector, ?) AS d"
                " FROM coarse JOIN chunk_embeddings AS e ON e.chunk_id = coarse.rowid"
                " ORDER BY d, e.chunk_id LIMIT ?",
                (blob, k, customer, scope_id, blob, wanted),
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
        """CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            customer_id TEXT NOT NULL,
            scope_id INTEGER NOT NULL,
            document_id TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            text TEXT NOT NULL,
            UNIQUE (customer_id, document_id, ordinal)
        )""",
        "CREATE INDEX chunks_by_scope ON chunks (customer_id, scope_id)",
        # Vectors apart from the text, so scans and re-scoring don't page through text.
        """CREATE TABLE chunk_embeddings (
            chunk_id INTEGER PRIMARY KEY,
            scope_id INTEGER NOT NULL,
            vector BLOB NOT NULL
        )""",
        "CREATE INDEX chunk_embeddings_by_scope ON chunk_embeddings (scope_id)",
        f"""CREATE VIRTUAL TABLE chunk_codes USING vec0(
            customer_id TEXT PARTITION KEY,
            scope_id INTEGER,
            code BIT[{dimensions}]
        )""",
        # Contentless: the text lives in `chunks`; contentless_delete allows plain DELETEs.
        """CREATE VIRTUAL TABLE chunk_fts USING fts5(
            scope_tag, body,
            content = '', contentless_delete = 1,
            tokenize = 'unicode61 remove_diacritics 2'
        )""",
    ]


def _scope_tag(scope_id: int) -> str:
    # One token naming the scope, so FTS5 intersects with it inside the index.
    return f"s{scope_id}"


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
) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for chunk in chunks:
        row = conn.execute(
            "SELECT id, scope_id FROM chunks"
            " WHERE customer_id = ? AND document_id = ? AND ordinal = ?",
            (customer, str(chunk.document_id), chunk.ordinal),
        ).fetchone()
        if row is not None:
            found.append((int(row[0]), int(row[1])))
    return found


def _delete_ids(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    # One row at a time: vec0 and FTS5 only take the fast point path for `rowid = ?`
    # (an IN list makes vec0 scan the whole table).
    params = [(i,) for i in ids]
    conn.executemany("DELETE FROM chunk_codes WHERE rowid = ?", params)
    conn.executemany("DELETE FROM chunk_fts WHERE rowid = ?", params)
    conn.executemany("DELETE FROM chunk_embeddings WHERE chunk_id = ?", params)
    conn.executemany("DELETE FROM chunks WHERE id = ?", params)


def _recount(conn: sqlite3.Connection, scope_ids: set[int]) -> None:
    # Recounted rather than adjusted by deltas: one indexed count per write batch, and
    # it can't drift.
    conn.executemany(
        "UPDATE scopes SET chunk_count = (SELECT count(*) FROM chunks"
        " WHERE chunks.customer_id = scopes.customer_id AND chunks.scope_id = scopes.id)"
        " WHERE id = ?",
        [(s,) for s in scope_ids],
    )


def _keyword_ranked(
    conn: sqlite3.Connection, scope_id: int, query_text: str, wanted: int
) -> list[tuple[int, float]]:
    terms = keyword_terms(query_text)
    if not terms:
        return []
    # Every term is letters/digits only and double-quoted, so no user text can become
    # FTS5 syntax; OR keeps recall, bm25 ranks chunks matching more/rarer terms first.
    any_term = " OR ".join(f'"{term}"' for term in terms)
    expression = f'scope_tag : "{_scope_tag(scope_id)}" AND body : ({any_term})'
    rows = conn.execute(
        "SELECT rowid, bm25(chunk_fts, 0.0, 1.0) AS b FROM chunk_fts"
        " WHERE chunk_fts MATCH ? ORDER BY b, rowid LIMIT ?",
        (expression, wanted),
    ).fetchall()
    return [(chunk_id, -b) for chunk_id, b in rows]


def _load_hits(
    conn: sqlite3.Connection,
    customer: str,
    scope_id: int,
    chatbot_id: UUID,
    ranked: Sequence[tuple[int, float]],
) -> list[SearchHit]:
    if not ranked:
        return []
    rows = conn.execute(
        "SELECT id, document_id, ordinal, text FROM chunks"
        " WHERE customer_id = ? AND scope_id = ? AND id IN (SELECT value FROM json_each(?))",
        (customer, scope_id, json.dumps([chunk_id for chunk_id, _ in ranked])),
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
