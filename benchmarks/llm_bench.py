"""LLM drafting throughput: the Draft stage against the fake Chat Completions server.

The server answers after 300 ms; 200 location_relationship contexts are drafted at concurrency 1
(the baseline) and 16 in the same run, each with an empty cache, then the concurrency-16 build is
rerun on its cache, which must make no calls. The last line printed is one JSON object; the exit
status is 1 when a run left contexts undrafted or the rerun made calls.

    .venv/bin/python benchmarks/llm_bench.py [--contexts 200] [--latency 0.3]
"""
import argparse
import contextlib
import json
import multiprocessing
import os
import pathlib
import sys
import tempfile
import time

import apache_beam as beam
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import make_photo, region  # noqa: E402
from fake_openai_server import FakeOpenAIServer  # noqa: E402

from pipeline.images.phash import phash_hex  # noqa: E402
from pipeline.manifest import Source, parse_manifest  # noqa: E402
from pipeline.records import Context, ContextImage, HashedImage, content_id, sha256_hex  # noqa: E402
from pipeline.run import beam_options  # noqa: E402
from pipeline.stages.draft import Draft  # noqa: E402

BOXES = ([0.05, 0.1, 0.25, 0.3], [0.4, 0.5, 0.6, 0.7], [0.75, 0.8, 0.95, 0.97])
SOURCES = {"photos": Source("photos", "folder", "-", "CC0-1.0", "benchmark", "off", ())}
DECODE = {"max_pixels": 10 ** 8, "min_side": 8}


def photos(folder: pathlib.Path) -> list:
    out = []
    for i in range(len(BOXES)):
        path = make_photo(folder / f"p{i}.jpg", seed=i, size=(96, 72))
        data = path.read_bytes()
        out.append((path, sha256_hex(data), phash_hex(Image.open(path)), len(data)))
    return out


def contexts(count: int, pictures: list) -> list:
    """Contexts over the same three photos; captions differ, so every prompt (and cache key) does."""
    return [Context(id=content_id("bench", n), task="location_relationship", split="train", group=f"b{n}",
                    images=tuple(ContextImage(HashedImage(
                        id=digest, uri=str(path), source="photos", width=96, height=72, phash=phash, file_size=size,
                        metadata={"file": path.name, "caption": f"Context {n}, photo {i}.",
                                  "regions": [region(f"thing {i}", BOXES[i])]}))
                        for i, (path, digest, phash, size) in enumerate(pictures)))
            for n in range(count)]


def drafter_settings(base_url: str, concurrency: int, cache: str) -> dict:
    return parse_manifest({"sources": [{"name": "photos", "kind": "folder", "location": "-", "licence": "-",
                                        "attribution": "-"}],
                           "drafter": {"kind": "openai", "openai": {
                               "base_url": base_url, "model": "fake-model", "concurrency": concurrency,
                               "timeout": 30, "vision": True, "image_side": 64, "cache_location": cache,
                               "progress_seconds": 10}}}, ".").drafter


def draft_all(items: list, settings: dict) -> dict:
    """Run the Draft stage; seconds taken, outputs and the llm counters."""
    pipeline = beam.Pipeline(options=beam_options([]))  # the runner `mir build` uses
    out = pipeline | beam.Create(items) | Draft(settings, SOURCES, seed=1, decode=DECODE)
    _ = (out["samples"], out["rejects"]) | beam.Flatten() | beam.combiners.Count.Globally()
    started = time.monotonic()
    result = pipeline.run()
    result.wait_until_finish()
    seconds = time.monotonic() - started
    counters = {c.key.metric.name: c.committed for c in result.metrics().query()["counters"]}
    return {"seconds": round(seconds, 3), "contexts_per_second": round(len(items) / seconds, 2),
            "calls": counters.get("calls", 0), "cache_hits": counters.get("cache_hits", 0),
            "drafted": counters.get("drafted", 0)}


def _serve(latency: float, urls, stop) -> None:
    with FakeOpenAIServer(latency=latency) as server:
        urls.put(server.base_url)
        stop.wait()


@contextlib.contextmanager
def endpoint(latency: float):
    """The fake server in its own process, as a real endpoint would be, so its work does not
    compete with the pipeline's threads for the interpreter lock."""
    context = multiprocessing.get_context("fork")
    urls, stop = context.Queue(), context.Event()
    process = context.Process(target=_serve, args=(latency, urls, stop), daemon=True)
    process.start()
    try:
        yield urls.get(timeout=30)
    finally:
        stop.set()
        process.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contexts", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.3)
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "benchmark-key")
    with tempfile.TemporaryDirectory() as tmp, endpoint(args.latency) as base_url:
        items = contexts(args.contexts, photos(pathlib.Path(tmp)))
        runs = {}
        for concurrency in (1, 16):
            runs[f"concurrency_{concurrency}"] = draft_all(
                items, drafter_settings(base_url, concurrency, f"{tmp}/cache{concurrency}"))
            print(f"concurrency {concurrency}: {runs[f'concurrency_{concurrency}']}", flush=True)
        runs["rerun_concurrency_16"] = draft_all(items, drafter_settings(base_url, 16, f"{tmp}/cache16"))
        print(f"rerun: {runs['rerun_concurrency_16']}", flush=True)
    speedup = runs["concurrency_16"]["contexts_per_second"] / runs["concurrency_1"]["contexts_per_second"]
    print(json.dumps({"benchmark": "llm_draft", "contexts": args.contexts, "latency_s": args.latency, **runs,
                      "speedup_16_vs_1": round(speedup, 2), "target_speedup": 10,
                      "meets_target": speedup >= 10, "rerun_calls": runs["rerun_concurrency_16"]["calls"]}))
    if runs["rerun_concurrency_16"]["calls"] or any(run["drafted"] != args.contexts for run in runs.values()):
        sys.exit("llm_bench: a run left contexts undrafted, or the rerun made calls instead of using its cache")


if __name__ == "__main__":
    main()
