"""Retrieval at scale: query latency over a 100,000-chunk store, split per stage, through the product's own wiring.

    python -m benchmarks.retrieval [--chunks 100000] [--distinct 2000] [--queries 200] [--dense-only]
                                   [--data-dir /tmp/supportbot-retrieval-bench] [--json]

The store is filled once and kept under --data-dir, so a rerun only measures. Embedding 100,000 passages with
the real model takes hours on 2 cores, so: `--distinct` synthetic passages are embedded by the real model
(bundled:multilingual-e5-small, the product default, through `Knowledge.embedder`); every other chunk is one of
them with about a fifth of its words redrawn, and its vector is that passage's real vector plus Gaussian noise
(cosine ~0.95 to it), renormalised. Every chunk's text is distinct, so BM25 sees 100,000 documents with a
Zipf-distributed vocabulary; the dense index holds 100,000 distinct points in realistic clusters. Chunks are
written as sync writes them (manifest staged, Chroma + lexical copy, file committed, collection marked synced).

Queries are embedded live by the real model, then `Knowledge.retriever.search` runs exactly as the bot runs it
(hybrid dense + BM25 fused by rank, the product default, unless --dense-only). Stages are timed by wrapping
the retriever's collaborators; "rest" is fusion, filtering and links. The first query after a sync also builds
the BM25 index unless it was built at start-up, as `supportbot run` now does: the build is reported apart
("index build"), and the first query too; the percentiles are over the queries after it. "bm25 top-k" times
the selection of BM25's best candidates both ways on the same scores: every score sorted (before) and `best`.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import benchmarks.common  # noqa: F401  (the shared environment)
from bot.config import Settings
from bot.wiring import Knowledge
from knowledge.documents import Chunk, StoredChunk
from knowledge.lexical_store import MirroredStore
from knowledge.retrieval import Retriever

COLLECTION = "bench"
CHUNKS_PER_FILE = 20
NOISE = 0.017  # per dimension: a 384-dimension unit vector plus this noise keeps a cosine of ~0.95 to it
COMMON_WORDS = (
    "account access admin app approve backup badge book browser calendar card change check client cloud code "
    "computer configure connect contract delete device disk download email error expense file folder form guest "
    "holiday install invoice key laptop leave license log mail manager meeting monitor network office order "
    "parking password payment phone policy portal printer project request reset restart room salary screen "
    "server service setting share sign software storage team ticket token travel update upload user vpn wifi"
)
SYLLABLE_TEXT = "ka lo mi nu re sa ti vo be da fe gu ha jo ki ly mo na pe qu ri su to ve wa xe yo zu"


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """Common support words first (the most frequent), then pseudo-words: product names, codes, jargon."""
    words = COMMON_WORDS.split()
    seen = set(words)
    syllables = SYLLABLE_TEXT.split()
    while len(words) < size:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if rng.random() < 0.1:
            word += f"-{rng.randint(10, 9999)}"
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class Corpus:
    """Deterministic synthetic chunks: `distinct` base passages, and variants of them with words redrawn."""

    def __init__(self, *, distinct: int, seed: int = 11) -> None:
        self._rng = random.Random(seed)
        self.words = vocabulary(30_000, self._rng)
        weights = 1.0 / np.arange(1, len(self.words) + 1) ** 1.05  # Zipf, like the words of real pages
        self._cumulative = list(np.cumsum(weights / weights.sum()))
        self.base = [self._passage() for _ in range(distinct)]

    def _draw(self, n: int) -> list[str]:
        return self._rng.choices(self.words, cum_weights=self._cumulative, k=n)

    def _passage(self) -> list[str]:
        return self._draw(self._rng.randint(50, 90))

    def text(self, index: int) -> list[str]:
        if index < len(self.base):
            return self.base[index]
        words = list(self.base[index % len(self.base)])
        for position, word in zip(
            self._rng.sample(range(len(words)), len(words) // 5), self._draw(len(words)), strict=False
        ):
            words[position] = word
        return words


def chunk(index: int, words: list[str]) -> StoredChunk:
    path = f"team-{index // 5000:02d}/page-{index // CHUNKS_PER_FILE:05d}.md"
    title = f"{words[0].capitalize()} {words[1]} guide"
    text = " ".join(words[2:]) + "."
    body = Chunk(title, (title, words[2].capitalize()), text, 0, 0, len(text), index % CHUNKS_PER_FILE)
    return StoredChunk(f"bench-{index:06d}", COLLECTION, path, body)


def fill(knowledge: Knowledge, corpus: Corpus, *, chunks: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Writes the chunks as a sync does; returns what was done and how long it took."""
    started = time.perf_counter()
    base_chunks = [chunk(i, corpus.text(i)) for i in range(len(corpus.base))]
    vectors = np.asarray(knowledge.embedder.embed_passages([c.chunk.embedding_text() for c in base_chunks]))
    embedded = time.perf_counter() - started
    log(f"embedded {len(base_chunks)} distinct passages in {embedded:.0f} s ({len(base_chunks) / embedded:.1f}/s)")
    rng = np.random.default_rng(5)
    store = MirroredStore(knowledge.store, knowledge.lexical_store)
    manifest = knowledge.manifest
    written = time.perf_counter()
    for start in range(0, chunks, 5000):
        batch = [chunk(i, corpus.text(i)) for i in range(start, min(start + 5000, chunks))]
        index = np.arange(start, start + len(batch))
        derived = vectors[index % len(vectors)] + rng.normal(0, NOISE, (len(batch), vectors.shape[1]))
        derived[index < len(vectors)] = vectors[index[index < len(vectors)]]  # base passages keep their own
        derived /= np.linalg.norm(derived, axis=1, keepdims=True)
        manifest.stage(COLLECTION, [c.id for c in batch])
        store.upsert(COLLECTION, batch, derived.tolist())
        by_path: dict[str, list[str]] = defaultdict(list)
        for stored in batch:
            by_path[stored.path].append(stored.id)
        for path, ids in by_path.items():
            manifest.commit_file(COLLECTION, path, content_hash=f"bench-{path}", chunk_ids=ids)
        log(f"stored {start + len(batch)} chunks")
    manifest.mark_synced(COLLECTION)
    return {"distinct_embedded": len(base_chunks), "embed_s": round(embedded, 1),
            "write_s": round(time.perf_counter() - written, 1)}  # fmt: skip


class Stopwatch:
    """Time spent per stage, per query."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)

    def wrap(self, inner: Any, stages: dict[str, str]) -> Any:
        watch = self

        class Timed:
            def __getattr__(self, name: str) -> Any:
                attribute = getattr(inner, name)
                if name not in stages:
                    return attribute

                def timed(*args: Any, **kwargs: Any) -> Any:
                    begun = time.perf_counter()
                    try:
                        return attribute(*args, **kwargs)
                    finally:
                        watch.current[stages[name]] += time.perf_counter() - begun

                return timed

        return Timed()


def queries(corpus: Corpus, count: int) -> list[str]:
    """Questions made of a few words of some chunk, as an asker would type a page's terms."""
    rng = random.Random(3)
    asked = []
    for _ in range(count):
        words = corpus.text(rng.randrange(len(corpus.base)))
        picked = rng.sample(words[2:], 5)
        asked.append(f"How do I {picked[0]} the {picked[1]} {picked[2]} with {picked[3]} {picked[4]}?")
    return asked


def measure(knowledge: Knowledge, asked: list[str], *, hybrid: bool) -> dict[str, Any]:
    watch = Stopwatch()
    base = knowledge.retriever
    retriever = Retriever(
        store=watch.wrap(knowledge.store, {"query": "dense"}),
        embedder=watch.wrap(knowledge.embedder, {"embed_query": "embed"}),
        manifest=watch.wrap(knowledge.manifest, {"stale": "live filter"}),
        collections=knowledge.settings.collections,
        lexical=watch.wrap(base._lexical, {"search": "bm25", "hits": "bm25 hits"}) if hybrid else None,
        candidates=knowledge.settings.retrieval.candidates,
        per_source_limit=knowledge.settings.retrieval.per_source,
        # The fill writes no title vectors, so title re-ranking (retrieval.title_weight) is not measured here.
        title_weight=0.0,
    )  # fmt: skip
    per_stage: dict[str, list[float]] = defaultdict(list)
    first: dict[str, float] = {}
    for number, text in enumerate(asked):
        watch.current.clear()
        begun = time.perf_counter()
        retriever.search(text, collections=[COLLECTION], k=knowledge.settings.bot.top_k)
        total = time.perf_counter() - begun
        stages = dict(watch.current, rest=total - sum(watch.current.values()), total=total)
        if number == 0:
            first = stages
            continue
        for stage, seconds in stages.items():
            per_stage[stage].append(seconds)
    return {"first_query_s": {s: round(v, 4) for s, v in first.items()},
            "stages": {s: percentiles(v) for s, v in per_stage.items()}}  # fmt: skip


def compare_top_k(knowledge: Knowledge, asked: list[str]) -> dict[str, Any]:
    """BM25's top-k selection, side by side on the same scores: every score sorted (as before) and `best`."""
    from knowledge.lexical import best, tokens

    index = knowledge.retriever._lexical._index(COLLECTION, wait=True)  # type: ignore[union-attr]
    k = knowledge.settings.retrieval.candidates
    timings: dict[str, list[float]] = {"full sort (before)": [], "best (after)": []}
    for text in asked:
        scores = np.asarray(index.bm25.get_scores(tokens(text)))
        begun = time.perf_counter()
        before = [i for i in np.argsort(-scores, kind="stable")[:k].tolist() if scores[i] > 0]
        timings["full sort (before)"].append(time.perf_counter() - begun)
        begun = time.perf_counter()
        after = best(scores, k).tolist()
        timings["best (after)"].append(time.perf_counter() - begun)
        assert before == after, text
    return {name: percentiles(values) for name, values in timings.items()}


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 2),
        "p95_ms": round(cuts[94] * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


def open_store(args: argparse.Namespace, log: Callable[[str], None]) -> tuple[Knowledge, Corpus, dict[str, Any] | None]:
    marker = args.data_dir / "retrieval-bench.json"
    wanted = {"chunks": args.chunks, "distinct": args.distinct, "model": args.model, "version": 1}
    cached = json.loads(marker.read_text()) if marker.exists() else None
    if cached is not None and cached.get("store") != wanted:
        log(f"{args.data_dir} holds another store ({cached.get('store')}): rebuilding it")
        models = args.data_dir / "models"
        for child in args.data_dir.iterdir():
            if child != models:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        cached = None
    elif cached is None and args.data_dir.exists() and any(p.name != "models" for p in args.data_dir.iterdir()):
        sys.exit(f"{args.data_dir} is not empty and was not made by this benchmark; pass another --data-dir.")
    settings = Settings.model_validate({
        "data_dir": str(args.data_dir.resolve()),
        "database": {"auto_upgrade": True},  # a store cached by an older supportbot
        "embedding": {"model": args.model},
        "retrieval": {"hybrid": not args.dense_only},
        "collections": [{"name": COLLECTION, "paths": [str(args.data_dir / "corpus")]}],
    })  # fmt: skip
    knowledge = Knowledge(settings, progress=log)
    corpus = Corpus(distinct=args.distinct)
    if cached is None:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        filled = fill(knowledge, corpus, chunks=args.chunks, log=log)
        marker.write_text(json.dumps({"store": wanted, "fill": filled}))
        return knowledge, corpus, filled
    return knowledge, corpus, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=2000, help="passages embedded by the real model")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--model", default="bundled:multilingual-e5-small")
    parser.add_argument("--dense-only", action="store_true", help="retrieval.hybrid: false")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/supportbot-retrieval-bench"))
    parser.add_argument("--threads", type=int, default=0, help="torch threads for the query embedding (0: default)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    knowledge, corpus, filled = open_store(args, log)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    knowledge.embedder.embed_query("warm up")  # the model's first call allocates; not a query's cost
    begun = time.perf_counter()
    knowledge.retriever.warm()  # what `supportbot run` does before the first question: builds the BM25 index
    built = time.perf_counter() - begun
    stored = knowledge.store.count(COLLECTION)
    asked = queries(corpus, args.queries + 1)
    result = {
        "chunks": stored,
        "distinct_embedded": args.distinct,
        "model": args.model,
        "mode": "dense" if args.dense_only else "hybrid",
        "method": f"{args.distinct} synthetic passages embedded by the model; the other chunks are variants of "
        f"them (a fifth of the words redrawn), vectors = base vector + N(0, {NOISE}) noise, renormalised",
        "fill": filled or json.loads((args.data_dir / "retrieval-bench.json").read_text())["fill"],
        "queries": args.queries,
        "torch_threads": args.threads or "default",
        "index_build_s": round(built, 2),
        **measure(knowledge, asked, hybrid=not args.dense_only),
        "bm25_top_k": None if args.dense_only else compare_top_k(knowledge, asked[1:]),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"store          {stored} chunks in {args.data_dir} ({result['method']})")
    print(f"mode           {result['mode']}, {args.queries} queries, model {args.model}")
    print(f"index build    {result['index_build_s']:.1f} s (BM25, at start-up; again after a sync changed the store)")
    print(f"first query    {result['first_query_s']['total'] * 1000:.0f} ms (not in the percentiles)")
    print(f"{'stage':<14} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for stage, figures in result["stages"].items():
        print(f"{stage:<14} {figures['p50_ms']:>8.2f} {figures['p95_ms']:>8.2f} {figures['max_ms']:>8.2f}")
    for name, figures in (result["bm25_top_k"] or {}).items():
        print(f"bm25 top-k, {name}: p50 {figures['p50_ms']:.2f} ms, p95 {figures['p95_ms']:.2f} ms")
    print(f"peak RSS       {result['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
