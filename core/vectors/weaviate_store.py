"""The scale-out vector store: Weaviate with native multi-tenancy (v4 sync client).

One collection (``Chunk``) with multi-tenancy on; each customer is a tenant named
``str(customer_id)``, so a query can only ever see one customer's shard. Vectors are ours
(no vectorizer), cosine distance. Object ids are uuid5(customer, document, ordinal), which
makes an upsert of the same chunk replace it.

Scores: ``vector`` 1 - cosine distance (= cosine similarity); ``keyword`` Weaviate's BM25
score; ``hybrid`` Weaviate's relative-score fusion, where ``alpha`` is the vector weight.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import weaviate
from weaviate.classes.config import Configure, DataType, Property, VectorDistances
from weaviate.classes.data import DataObject
from weaviate.classes.init import AdditionalConfig, Auth, Timeout
from weaviate.classes.query import Filter, MetadataQuery
from weaviate.classes.tenants import Tenant
from weaviate.exceptions import WeaviateBaseError
from weaviate.util import generate_uuid5

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
)

DEFAULT_COLLECTION = "Chunk"
DEFAULT_GRPC_PORT = 50051
_PROPERTIES = ["document_id", "chatbot_id", "ordinal", "text"]
# delete_many removes at most QUERY_MAXIMUM_RESULTS objects per call (10k by default);
# we call again until nothing matches, with a bound so a server bug can't spin forever.
_MAX_DELETE_ROUNDS = 1_000
_INSERT_SLICE = 500


class WeaviateStore:
    """VectorStore over a Weaviate collection; one instance per process (convention 8)."""

    def __init__(
        self,
        client: weaviate.WeaviateClient,
        dimensions: int,
        *,
        collection: str = DEFAULT_COLLECTION,
    ) -> None:
        if dimensions < 1:
            raise VectorStoreError(f"dimensions must be positive, got {dimensions}")
        self.dimensions = dimensions
        self._client = client
        self._name = collection
        # The sync client's batching is not thread-safe: every write goes through this.
        self._write_lock = threading.Lock()
        # Tenants seen to exist; a tenant is never removed by this code, so it stays true.
        self._tenants: set[str] = set()
        self._tenants_lock = threading.Lock()
        with _weaviate_errors("cannot prepare the Weaviate collection"):
            self._collection = self._ensure_collection()

    @classmethod
    def connect(
        cls,
        url: str,
        api_key: str | None,
        dimensions: int,
        *,
        collection: str = DEFAULT_COLLECTION,
        timeout_s: float = 30.0,
    ) -> WeaviateStore:
        """Connect to ``url`` (http[s]://host[:port][?grpc_port=N&grpc_host=H]).

        gRPC goes to the same host on port 50051 unless the query string says otherwise,
        and is secure exactly when the URL is https.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise VectorStoreError(f"WEAVIATE_URL must be http(s)://host[:port], got {url!r}")
        secure = parts.scheme == "https"
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        try:
            http_port = parts.port or (443 if secure else 8080)
            grpc_port = int(query.get("grpc_port", DEFAULT_GRPC_PORT))
        except ValueError as exc:
            raise VectorStoreError(f"bad port in WEAVIATE_URL {url!r}: {exc}") from exc
        with _weaviate_errors(f"cannot connect to Weaviate at {parts.hostname}:{http_port}"):
            client = weaviate.connect_to_custom(
                http_host=parts.hostname,
                http_port=http_port,
                http_secure=secure,
                grpc_host=query.get("grpc_host", parts.hostname),
                grpc_port=grpc_port,
                grpc_secure=secure,
                auth_credentials=Auth.api_key(api_key) if api_key else None,
                additional_config=AdditionalConfig(
                    timeout=Timeout(init=min(timeout_s, 10), query=timeout_s, insert=timeout_s * 4)
                ),
            )
        try:
            return cls(client, dimensions, collection=collection)
        except BaseException:
            client.close()
            raise

    def _ensure_collection(self) -> Any:
        collections = self._client.collections
        if not collections.exists(self._name):
            try:
                collections.create(
                    self._name,
                    multi_tenancy_config=Configure.multi_tenancy(
                        enabled=True, auto_tenant_creation=True, auto_tenant_activation=True
                    ),
                    vector_config=Configure.Vectors.self_provided(
                        vector_index_config=Configure.VectorIndex.hnsw(
                            distance_metric=VectorDistances.COSINE
                        )
                    ),
                    properties=[
                        Property(name="document_id", data_type=DataType.UUID),
                        Property(name="chatbot_id", data_type=DataType.UUID),
                        Property(name="ordinal", data_type=DataType.INT),
                        Property(name="text", data_type=DataType.TEXT),
                    ],
                )
            except WeaviateBaseError:
                # Another process (API vs worker) may have created it a moment ago.
                if not collections.exists(self._name):
                    raise
        collection = collections.use(self._name)
        if not collection.config.get().multi_tenancy_config.enabled:
            raise VectorStoreError(
                f"Weaviate collection {self._name!r} exists without multi-tenancy; "
                "it must be recreated (tenant isolation depends on it)"
            )
        return collection

    # -- tenants -------------------------------------------------------------------

    def _tenant(self, customer_id: UUID, *, create: bool) -> Any | None:
        """The collection handle for this customer's tenant, or None if it has no data."""
        name = str(check_customer(customer_id))
        with self._tenants_lock:
            known = name in self._tenants
        if not known:
            tenants = self._collection.tenants
            if not tenants.exists(name):
                if not create:
                    return None
                try:
                    tenants.create([Tenant(name=name)])
                except WeaviateBaseError:
                    if not tenants.exists(name):  # lost a creation race: fine
                        raise
            with self._tenants_lock:
                self._tenants.add(name)
        return self._collection.with_tenant(name)

    # -- writes --------------------------------------------------------------------

    def upsert(self, customer_id: UUID, chunks: Sequence[ChunkRecord]) -> None:
        check_chunks(chunks)
        if not chunks:
            check_customer(customer_id)
            return
        latest = {(c.document_id, c.ordinal): c for c in chunks}
        unique = list(latest.values())
        matrix = as_matrix([c.vector for c in unique], self.dimensions)
        objects = [
            DataObject(
                properties={
                    "document_id": str(c.document_id),
                    "chatbot_id": str(c.chatbot_id),
                    "ordinal": c.ordinal,
                    "text": c.text,
                },
                uuid=_object_id(customer_id, c.document_id, c.ordinal),
                vector=vec.tolist(),
            )
            for c, vec in zip(unique, matrix, strict=True)
        ]
        with self._write_lock, _weaviate_errors("upsert failed"):
            tenant = self._tenant(customer_id, create=True)
            assert tenant is not None
            # Slices keep each gRPC message well under the server's size limit.
            for start in range(0, len(objects), _INSERT_SLICE):
                result = tenant.data.insert_many(objects[start : start + _INSERT_SLICE])
                if result.has_errors:
                    first = next(iter(result.errors.values()))
                    raise VectorStoreError(
                        f"upsert failed for {len(result.errors)} chunks: {first.message}"
                    )

    def delete_document(self, customer_id: UUID, document_id: UUID) -> int:
        return self._delete_where(customer_id, Filter.by_property("document_id").equal(document_id))

    def delete_chatbot(self, customer_id: UUID, chatbot_id: UUID) -> int:
        return self._delete_where(customer_id, Filter.by_property("chatbot_id").equal(chatbot_id))

    def _delete_where(self, customer_id: UUID, where: Any) -> int:
        removed = 0
        with self._write_lock, _weaviate_errors("delete failed"):
            tenant = self._tenant(customer_id, create=False)
            if tenant is None:
                return 0
            for _ in range(_MAX_DELETE_ROUNDS):
                result = tenant.data.delete_many(where=where)
                removed += result.successful
                if result.failed:
                    raise VectorStoreError(f"delete failed for {result.failed} chunks")
                if result.matches == 0 or result.successful == 0:
                    break
        return removed

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
        check_customer(customer_id)
        check_search_args(mode, limit, alpha)
        query = None if vector is None else as_query_vector(vector, self.dimensions).tolist()
        if mode == "vector" and query is None:
            raise VectorStoreError("vector search needs a query vector")
        # The same word split as the embedded store, so both backends match the same words
        # and no user text reaches Weaviate's query parser raw.
        words = " ".join(keyword_terms(query_text))
        if mode == "hybrid" and query is None:
            mode = "keyword"
        elif mode == "hybrid" and not words:
            mode = "vector"
        if mode == "keyword" and not words:
            return []
        where = Filter.by_property("chatbot_id").equal(chatbot_id)
        with _weaviate_errors("search failed"):
            tenant = self._tenant(customer_id, create=False)
            if tenant is None:
                return []
            q = tenant.query
            if mode == "vector":
                response = q.near_vector(
                    near_vector=query,
                    limit=limit,
                    filters=where,
                    return_metadata=MetadataQuery(distance=True),
                    return_properties=_PROPERTIES,
                )
            elif mode == "keyword":
                response = q.bm25(
                    query=words,
                    query_properties=["text"],
                    limit=limit,
                    filters=where,
                    return_metadata=MetadataQuery(score=True),
                    return_properties=_PROPERTIES,
                )
            else:
                response = q.hybrid(
                    query=words,
                    vector=query,
                    alpha=alpha,
                    query_properties=["text"],
                    limit=limit,
                    filters=where,
                    return_metadata=MetadataQuery(score=True),
                    return_properties=_PROPERTIES,
                )
        return [_hit(obj, chatbot_id, by_distance=mode == "vector") for obj in response.objects]

    def count(self, customer_id: UUID, chatbot_id: UUID | None = None) -> int:
        with _weaviate_errors("count failed"):
            tenant = self._tenant(customer_id, create=False)
            if tenant is None:
                return 0
            where = (
                None if chatbot_id is None else Filter.by_property("chatbot_id").equal(chatbot_id)
            )
            result = tenant.aggregate.over_all(total_count=True, filters=where)
        return int(result.total_count or 0)

    def ping(self) -> None:
        with _weaviate_errors("Weaviate unreachable"):
            ready = self._client.is_ready()
        if not ready:
            raise VectorStoreError("Weaviate is not ready")

    def close(self) -> None:
        with _weaviate_errors("closing the Weaviate client failed"):
            self._client.close()


def _object_id(customer_id: UUID, document_id: UUID, ordinal: int) -> str:
    # Namespaced by the customer too: ids are per tenant anyway, but this keeps them
    # unique should two tenants ever be merged or exported together.
    return generate_uuid5(f"{document_id}:{ordinal}", namespace=str(customer_id))


def _hit(obj: Any, chatbot_id: UUID, *, by_distance: bool) -> SearchHit:
    props = obj.properties
    meta = obj.metadata
    if by_distance:
        score = 1.0 - float(meta.distance if meta.distance is not None else 1.0)
    else:
        score = float(meta.score if meta.score is not None else 0.0)
    return SearchHit(
        document_id=UUID(str(props["document_id"])),
        chatbot_id=chatbot_id,
        ordinal=int(props["ordinal"]),
        text=str(props["text"]),
        score=score,
    )


@contextmanager
def _weaviate_errors(what: str) -> Iterator[None]:
    """Turn any Weaviate client error into VectorStoreError, keeping the cause."""
    try:
        yield
    except WeaviateBaseError as exc:
        raise VectorStoreError(f"{what}: {exc}") from exc
