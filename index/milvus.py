"""Milvus as the search engine: the same index version, searched by Milvus instead of FAISS and bm25s.

Selected by the `vector_store` setting: a file path ending in `.db` is Milvus Lite (embedded,
no server), an `http://host:19530` or `https://…` URI is a Milvus standalone or cluster; the
same pymilvus calls serve both. pymilvus is imported only here, on first use.

Each index version gets two collections, written before the version is published and named in
its manifest (`manifest["milvus"]`):

    rag_<index>_<build>_s   id = sentence row, vec = sentence vector, text = its BM25 tokens,
                            sparse = Milvus' BM25 Function over text
    rag_<index>_<build>_c   id = chunk row, vec = chunk vector

A reader only opens the collections its manifest names, so it never sees a half-written one;
`prune` drops this index's collections that no remaining version names. The local version
folder still holds the manifest, articles and sentence spans (offsets, metadata and citations
come from there, as with FAISS), and its vectors, which incremental builds reuse.

A Milvus server before 2.5 has no BM25 full-text search: there the sentence collection holds
only vectors, the record says `"keyword": "local"`, and keyword search runs on the version's
own saved BM25 index in this process (dense search still in Milvus); `rag index` logs it once.
A server before 2.3 (untested) is refused with a one-line RagError naming the version needed.

Keyword search matches bm25s as closely as Milvus allows: the analysed field holds our own
`index.lexical.tokens()` (stemmed, stopwords out) joined by spaces, with `-` and `'` inside a
token written `_` so Milvus' standard tokenizer keeps it one token; the query is the same,
each term once (bm25s counts a repeated query term once); k1 and b are ours.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import re
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from index.backend import What
from index.lexical import K1, B
from rag.errors import RagError
from rag.types import Chunk, Sentence

log = logging.getLogger(__name__)

BATCH = 2000  # rows per insert call
MAX_TEXT = 60_000  # characters of tokens kept per sentence (the VARCHAR field's limit is 65,535)
MAX_LIMIT = 16_384  # the most results one Milvus search returns
EXACT_KEYWORD = MAX_LIMIT  # up to this many sentences, keyword ties are broken exactly as bm25s does
TIE, TIE_ABS = 1e-6, 1e-8  # scores closer than this are the same score summed in another order (relative, absolute)
MIN_SERVER = (2, 3)  # the oldest Milvus server this code was run against (`tests/test_milvus_server.py`)
FULL_TEXT = (2, 5)  # the first Milvus server with BM25 full-text search (a Function of type BM25)
_clients: dict[str, Any] = {}


def is_milvus(vector_store: str) -> bool:
    return bool(vector_store) and vector_store != "faiss"


def is_lite(uri: str) -> bool:
    return not uri.startswith(("http://", "https://"))


def connect(uri: str) -> Any:
    """A MilvusClient for `uri` (one per URI per process); a one-line RagError when it cannot be reached."""
    key = str(Path(uri).expanduser().resolve()) if is_lite(uri) else uri
    if key not in _clients:
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        from rag.config import redact_url

        try:
            _clients[key] = MilvusClient(key, timeout=10)
        except MilvusException as e:
            raise RagError(f"cannot open Milvus at {redact_url(uri)}: {getattr(e, 'message', '') or e}") from None
    return _clients[key]


def _call(uri: str, what: str, fn, *args, **kwargs):
    """Run one pymilvus call; its failure is a one-line RagError naming what was being done."""
    from pymilvus.exceptions import MilvusException

    from rag.config import redact_url

    try:
        return fn(*args, **kwargs)
    except MilvusException as e:
        raise RagError(f"Milvus at {redact_url(uri)} failed while {what}: {getattr(e, 'message', '') or e}") from None


def version_of(text: str) -> tuple[int, int] | None:
    """(major, minor) of a Milvus server's version string; None when it does not read as one.

    >>> version_of("v2.3.5-lite"), version_of("2.5.4"), version_of("master-20250101")
    ((2, 3), (2, 5), None)
    """
    m = re.match(r"v?(\d+)\.(\d+)", text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def full_text(uri: str, client: Any) -> bool:
    """Whether Milvus at `uri` runs BM25 full-text search (Milvus Lite does; a server from 2.5).
    A server older than `MIN_SERVER` is a one-line RagError; an unreadable version is taken as new."""
    if is_lite(uri):
        return True
    from rag.config import redact_url

    text = str(_call(uri, "asking its version", client.get_server_version))
    version = version_of(text)
    if version is None or version >= FULL_TEXT:
        return True
    if version < MIN_SERVER:
        raise RagError(f"Milvus at {redact_url(uri)} is {text}: needs Milvus 2.3 or later (2.5 or later for keyword search in Milvus)")
    log.warning(
        "Milvus at %s is %s, which has no BM25 full-text search (Milvus 2.5 or later): "
        "dense search runs in Milvus, keyword search on the index's own BM25 in this process",
        redact_url(uri),
        text,
    )
    return False


def keyword_text(tokens: list[str]) -> str:
    """Our BM25 tokens as text Milvus' standard tokenizer splits back into the same tokens.

    >>> keyword_text(["o'neil", "sharah-e-faisal", "3rd"])
    'o_neil sharah_e_faisal 3rd'
    """
    return " ".join(t.replace("-", "_").replace("'", "_") for t in tokens)


def prefix(index_dir: Path) -> str:
    """This index's collection-name prefix (one Milvus can hold the indexes of several folders)."""
    where = Path(index_dir).parent.resolve() / Path(index_dir).name  # the link's path, not the version it points to
    return "rag_" + hashlib.sha256(str(where).encode()).hexdigest()[:10]


def _schema(client: Any, dim: int, text: bool) -> tuple[Any, Any]:
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
    params = client.prepare_index_params()
    params.add_index("vec", index_type="FLAT", metric_type="IP")
    if text:
        schema.add_field("text", DataType.VARCHAR, max_length=65_535, enable_analyzer=True, analyzer_params={"tokenizer": "standard"})
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(
            Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"])
        )
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"bm25_k1": K1, "bm25_b": B})
    return schema, params


def _fill(uri: str, client: Any, name: str, vecs: np.ndarray, texts: list[str] | None, label: str) -> None:
    from tqdm import tqdm

    n = len(vecs)
    with tqdm(total=n, desc=f"writing {label} to Milvus", unit="row", disable=n < 4 * BATCH or None, file=sys.stderr) as bar:
        for lo in range(0, n, BATCH):
            rows = [{"id": lo + i, "vec": v} for i, v in enumerate(vecs[lo : lo + BATCH].tolist())]
            if texts is not None:
                for r in rows:
                    r["text"] = texts[r["id"]]
            _call(uri, f"writing {name}", client.insert, name, rows)
            bar.update(len(rows))
    _call(uri, f"flushing {name}", client.flush, name)


def write(uri: str, index_dir: Path, sentences: list[Sentence], sv: np.ndarray, chunks: list[Chunk], cv: np.ndarray) -> dict[str, Any]:
    """Write one version's collections; returns the manifest's `milvus` record. On failure
    nothing is left behind (the collections made so far are dropped)."""
    from index.lexical import tokens

    client = connect(uri)
    build = f"{prefix(index_dir)}_{uuid.uuid4().hex[:12]}"
    record: dict[str, Any] = {"sentences": build + "_s", "chunks": build + "_c", "rows": [len(sentences), len(chunks)]}
    texts = None
    if full_text(uri, client):
        texts = [keyword_text(tokens(s.text))[:MAX_TEXT] for s in sentences]
    else:
        record["keyword"] = "local"  # no BM25 in this Milvus: the reader searches the version's own
    made: list[str] = []
    try:
        for name, vecs, text in ((record["sentences"], sv, texts), (record["chunks"], cv, None)):
            schema, params = _schema(client, int(vecs.shape[1]), text is not None)
            _call(uri, f"creating {name}", client.create_collection, name, schema=schema, index_params=params, consistency_level="Strong")
            made.append(name)
            _fill(uri, client, name, np.asarray(vecs, dtype=np.float32), text, "sentences" if name == record["sentences"] else "chunks")
            _call(uri, f"loading {name}", client.load_collection, name)
    except BaseException:
        for name in made:
            try:
                client.drop_collection(name)
            except Exception:  # noqa: BLE001 - already failing: the first error is the one to report
                log.warning("could not drop the half-written Milvus collection %s", name)
        raise
    log.info("wrote %d sentences and %d chunks to Milvus collections %s_*", len(sentences), len(chunks), build)
    return record


def prune(uri: str, index_dir: Path, versions_dir: Path) -> list[str]:
    """Drop this index's collections that no remaining version folder names; returns them.
    The caller holds the writer lock (no build of this index is running)."""
    client = connect(uri)
    keep: set[str] = set()
    for folder in versions_dir.iterdir() if versions_dir.is_dir() else ():
        try:
            rec = json.loads((folder / "manifest.json").read_text()).get("milvus") or {}
        except (OSError, ValueError, AttributeError):
            continue
        keep |= {rec.get("sentences"), rec.get("chunks")}
    mine = prefix(index_dir) + "_"
    gone = [c for c in _call(uri, "listing collections", client.list_collections) if c.startswith(mine) and c not in keep]
    for name in gone:
        _call(uri, f"dropping {name}", client.drop_collection, name)
    return gone


def _snap(hits: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Scores within float rounding of the one before them made equal (best-first input).

    Milvus sums in another order than FAISS and bm25s: equal scores there can differ here in
    the last bits, which would break their ties differently.
    >>> _snap([(3, 2.9844050), (7, 2.9844048), (1, 1.5)])
    [(3, 2.984405), (7, 2.984405), (1, 1.5)]
    """
    out: list[tuple[int, float]] = []
    head = None
    for row, score in hits:
        if head is None or abs(head - score) > TIE * abs(head) + TIE_ABS:
            head = score
        out.append((row, head))
    return out


def flat_order(hits: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
    """The top k of `hits` (every row scoring at least the k-th score) as FAISS' flat search
    returns them: its heap scans rows in order and lets a row in only when it beats the worst
    kept (lowest score, then lowest row), and lists the result best first, a tie highest row first.

    >>> flat_order([(5, 1.0), (1, 1.0), (3, 1.0), (2, 0.5)], 2)
    [(3, 1.0), (1, 1.0)]
    """
    heap = [(-np.inf, -1)] * k
    for row, score in sorted(hits):
        if score > heap[0][0]:
            heapq.heapreplace(heap, (score, row))
    return [(row, score) for score, row in sorted(heap, reverse=True) if row >= 0]


class MilvusBackend:
    """Dense and keyword search of one index version in Milvus (see `index.backend.Backend`).

    Results are ordered as the local engine orders them, ties included (the fused ranking and
    so the answers depend on it): FAISS' flat search keeps the lowest rows of a tie at the
    cut and lists a tie highest row first; bm25s' selection is replayed over the scores of
    every matching sentence (up to `EXACT_KEYWORD` sentences; above that ties go by row).
    A version written to a Milvus without full-text search (`"keyword": "local"`) answers
    keyword searches with `local_keyword`, the version's own BM25 in this process.
    """

    name = "milvus"

    def __init__(self, uri: str, record: dict[str, Any], local_keyword: Callable[[str, int], list[tuple[int, float]]] | None = None):
        self.uri = uri
        self._local_keyword = local_keyword if record.get("keyword") == "local" else None
        if record.get("keyword") == "local" and local_keyword is None:
            raise RagError("this index version's keyword search is local, but no local BM25 index was given")
        self._client = connect(uri)
        self._names = {"sentences": record["sentences"], "chunks": record["chunks"]}
        self._rows = {"sentences": int(record["rows"][0]), "chunks": int(record["rows"][1])}
        for name in self._names.values():
            if not _call(uri, f"looking for {name}", self._client.has_collection, name):
                raise RagError(f"Milvus at {uri} has no collection {name} for this index version: run `rag index --rebuild`")
            _call(uri, f"loading {name}", self._client.load_collection, name)
        # A version's collections are written once, flushed and loaded before it is published, and
        # never changed: a server need not wait for its next time tick (~200 ms) to search them
        # as "Strong" consistency would (the collections' default). Milvus Lite answers at once.
        self._read: dict[str, Any] = {} if is_lite(uri) else {"consistency_level": "Eventually"}

    def _search(self, what: What, data: Any, field: str, limit: int) -> list[tuple[int, float]]:
        name = self._names[what]
        res = _call(
            self.uri,
            f"searching {name}",
            self._client.search,
            name,
            data=[data],
            anns_field=field,
            limit=limit,
            output_fields=[],
            **self._read,
        )
        hits = [(int(h["id"]), float(h["distance"])) for h in res[0]]
        return _snap(sorted(hits, key=lambda h: -h[1]))

    def dense(self, query_vec: np.ndarray, k: int, what: What) -> list[tuple[int, float]]:
        n = self._rows[what]
        k = min(k, n)
        if k <= 0:
            return []
        vec = np.asarray(query_vec, dtype=np.float32).tolist()
        limit = min(n, 2 * k + 16, MAX_LIMIT)
        while True:  # fetch until the tie at the k-th score is whole (it decides which rows make the cut)
            hits = self._search(what, vec, "vec", limit)
            if len(hits) <= k or hits[-1][1] < hits[k - 1][1] or limit >= min(n, MAX_LIMIT):
                break
            limit = min(n, limit * 4, MAX_LIMIT)
        return flat_order([h for h in hits if h[1] >= hits[min(k, len(hits)) - 1][1]], k)

    def keyword(self, query: str, k: int) -> list[tuple[int, float]]:
        from index.lexical import tokens

        if self._local_keyword is not None:
            return self._local_keyword(query, k)
        n = self._rows["sentences"]
        terms = keyword_text(list(dict.fromkeys(tokens(query))))
        k = min(k, n)
        if k <= 0 or not terms:
            return []
        exact = n <= EXACT_KEYWORD
        # Milvus Lite reports BM25 as a negative distance: the score is its size.
        hits = [(r, abs(s)) for r, s in self._search("sentences", terms, "sparse", n if exact else min(n, 2 * k + 16, MAX_LIMIT))]
        hits = _snap(sorted(hits, key=lambda h: -h[1]))
        if not exact:
            return [h for h in sorted(hits, key=lambda h: (-h[1], h[0]))[:k] if h[1] > 0]
        scores = np.zeros(n, dtype=np.float32)
        for row, score in hits:
            scores[row] = score
        # index.lexical.BM25.search's selection, on the same scores: the same rows, in the same order.
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
