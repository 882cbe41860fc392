"""Every script in benchmarks/ runs, at a tiny size, and ends with the JSON line its README
figures come from: a benchmark that no longer runs against the code fails here, not in a
reader's hands. Only what the scripts count is checked, never a time."""
import json
import os
import pathlib
import subprocess
import sys

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"


def last_json_line(script: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                          timeout=300, cwd=BENCHMARKS.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_benchmark_script_has_a_smoke_test():
    tested = {"build_bench.py", "cores_bench.py", "dedup_bench.py", "hash_bench.py", "llm_bench.py", "yield_bench.py"}
    assert {p.name for p in BENCHMARKS.glob("*.py")} == tested


def test_hash_bench():
    figures = last_json_line("hash_bench.py", "--images", "3")
    assert figures["images"] == 3
    # The project's hashes stay within a few bits of imagehash's (the bound its docs give).
    assert figures["max_hamming"] <= 4
    assert {"plain_seconds", "project_seconds", "speedup"} <= set(figures)   # reported, never judged


def test_dedup_bench():
    figures = last_json_line("dedup_bench.py", "--n", "2000")
    # One planted near pair per ten images, all found, and exactly the reference's pairs.
    assert figures["pairs_found"] == figures["pairs_reference"] == 200
    assert figures["same_pairs"] is True
    assert figures["hashes_per_image"] == 7


def test_llm_bench():
    figures = last_json_line("llm_bench.py", "--contexts", "6", "--latency", "0.01")
    for run in ("concurrency_1", "concurrency_16"):
        assert (figures[run]["drafted"], figures[run]["calls"], figures[run]["cache_hits"]) == (6, 6, 0)
    rerun = figures["rerun_concurrency_16"]
    assert (rerun["drafted"], rerun["calls"], rerun["cache_hits"]) == (6, 0, 6)


def test_build_bench():
    figures = last_json_line("build_bench.py", "--images", "24", "--repeat", "1", "--size", "256", "192")
    assert (figures["images"], figures["repeat"], figures["size"]) == (24, 1, [256, 192])
    assert figures["samples"] > 0
    assert len(figures["hash_only_seconds"]) == len(figures["build_seconds"]) == 1
    assert figures["build_peak_rss_mb"] > 0


def test_cores_bench():
    figures = last_json_line("cores_bench.py", "--images", "24", "--repeat", "1", "--size", "256", "192",
                             "--scale", "2")
    assert (figures["images"], figures["repeat"], figures["size"], figures["scaled_images"]) == (24, 1, [256, 192], 48)
    assert figures["cores"] == len(os.sched_getaffinity(0)) and figures["samples"] > 0
    # Its own checks: the pinned and all-core builds wrote the same files, the peer hashed every one.
    assert figures["outputs_identical"] is True and figures["checks_failed"] == []
    assert {way: len(runs) for way, runs in figures["runs_seconds"].items()} == {"pinned": 1, "all_cores": 1, "peer": 1}
    assert figures["build_peak_rss_mb"] > 0 and figures["scaled_peak_rss_mb"] > 0
    # 24 small photos are far below the bytes that get a worker process per core.
    assert (figures["all_cores_processes"], figures["all_cores_threads_per_process"]) == (1, figures["cores"])


def test_yield_bench(tmp_path):
    """Numbers in labels are names: every task the photos serve keeps its contexts."""
    figures = last_json_line("yield_bench.py", "--images", "120", "--work", str(tmp_path))
    assert figures["images"] == 120 and figures["labels"] == "numbered"
    served = {"depth_relationship", "weight_comparison", "forced_perspective", "location_relationship",
              "image_puzzle", "scale_blur"}
    assert set(figures["by_task"]) == served
    for counted in figures["by_task"].values():
        assert counted["contexts"] > 0 and counted["samples"] + sum(counted["rejected"].values()) == counted["contexts"]
