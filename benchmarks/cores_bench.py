"""Does a local build use every core? The whole build pinned to one core against the build on all
cores, the build on all cores against the script a user would otherwise write, and peak memory
as the collection grows.

Generates N photo-like JPEGs with build_bench.py's content and sidecar metadata, then alternates,
--repeat times, keeping each one's fastest run (a shared machine's noise only adds time):
  * the whole `mir build` pinned to one core (its affinity set to one CPU, as `taskset -c 0`
    does: the build then counts one core and runs one thread per heavy stage),
  * the whole `mir build` on every core (a collection this large gets a worker process per core:
    pipeline/parallelism.py), and
  * the peer script on every core: a `multiprocessing.Pool` running
    `imagehash.phash(Image.open(path))` over the same files, the hashes written with pandas to
    Parquet.
Then builds --scale times as many images once on every core, for the peak RSS at that size.
Checks its own results and exits 1 when one fails: every build's files must be identical
(pinned or not, run after run; report.json without its timings), and the peer must hash every
file. Each step runs in its own process; the last line printed is one JSON object with every
figure, among them the serial and parallel parts the pinned and all-cores times imply and the
speed-up they project on 8 and 16 cores (Amdahl), and the peak resident memory of each build's
whole process tree (its worker processes included). Targets: pinned/all-cores speed-up >= 1.7
on 2 cores; build vs peer >= 1.0 (the peer's seconds over the build's); peak RSS < 2 GB at N
images and, at --scale x N, < 1.3x that.

    .venv/bin/python benchmarks/cores_bench.py [--images 5000] [--size 1024 768] [--repeat 3] [--scale 4] [--work DIR]
"""
import argparse
import hashlib
import json
import multiprocessing
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import imagehash
import pandas as pd
import pyarrow.parquet as pq
from build_bench import make_collection  # the same photos and metadata as the build benchmark
from PIL import Image

HERE = pathlib.Path(__file__).resolve()
ROOT = HERE.parent.parent
TARGETS = {"speedup": 1.7, "build_vs_peer": 1.0, "peak_rss_mb": 2048, "rss_growth": 1.3}


def peer(folder: str, table: str) -> None:
    """The peer script, run inside its own process: every core hashing, pandas writing."""
    paths = sorted(str(p) for p in pathlib.Path(folder).glob("*.jpg"))
    with multiprocessing.Pool() as pool:
        hashes = pool.map(_phash, paths, chunksize=16)
    pd.DataFrame({"path": paths, "phash": hashes}).to_parquet(table)


def _phash(path: str) -> str:
    return str(imagehash.phash(Image.open(path)))


def _tree_rss_mb(pid: int) -> float:
    """The resident memory of a process and all its descendants (worker processes included), in
    MB, from /proc; 0 for a process that is gone."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = pathlib.Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in pathlib.Path(f"/proc/{current}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total / 1024


def timed_process(command: list, cpus=None) -> tuple:
    """(wall seconds, peak RSS in MB) of a child process run on ``cpus`` (None: every CPU this
    process may use); its output goes to stderr. The peak is of the whole process tree's summed
    resident memory, sampled every 0.1 s (a build's worker processes count too), and at least the
    child's own peak as the kernel counts it."""
    started = time.monotonic()
    child = subprocess.Popen(command, stdout=sys.stderr, cwd=ROOT,
                             preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    peak = 0.0
    while child.poll() is None:
        peak = max(peak, _tree_rss_mb(child.pid))
        time.sleep(0.1)
    _, status, usage = os.wait4(child.pid, 0) if child.returncode is None else (None, child.returncode, None)
    if status != 0:
        sys.exit(f"benchmark step failed: {' '.join(command)}")
    return time.monotonic() - started, peak


def output_digest(out: pathlib.Path) -> str:
    """One sha256 over every file of a build (path and content), report.json without timings."""
    digest = hashlib.sha256()
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name == "report.json" and path.parent == out:
            report = json.loads(data)
            report.pop("timings")
            data = json.dumps(report, sort_keys=True).encode()
        digest.update(f"{path.relative_to(out)}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


def collection(work: pathlib.Path, count: int, size: tuple) -> pathlib.Path:
    """The generated collection of ``count`` photos (made once per --work folder)."""
    folder = work / f"photos-{count}-{size[0]}x{size[1]}"
    manifest = folder / "manifest.yaml"
    if not (folder / "complete").exists():
        make_collection(folder / "images", count, size)
        (folder / "complete").write_text("")
    return manifest


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--size", type=int, nargs=2, default=(1024, 768), metavar=("W", "H"))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each way; the fastest counts")
    parser.add_argument("--scale", type=int, default=4, help="the memory run builds this many times --images")
    parser.add_argument("--work", help="folder for the generated collections, kept for the next run "
                                       "(default: a temporary folder)")
    parser.add_argument("--peer", nargs=2, metavar=("FOLDER", "TABLE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        return peer(*args.peer)
    with tempfile.TemporaryDirectory() as scratch:
        work = pathlib.Path(args.work or scratch)
        figures, problems = run(args, work, pathlib.Path(scratch))
    print(f"{figures['cores']} cores: all-cores build ({figures['all_cores_processes']} worker processes of "
          f"{figures['all_cores_threads_per_process']} threads) {figures['speedup']}x the pinned one (target >= "
          f"{TARGETS['speedup']}); the peer script's hashing took {figures['build_vs_peer']}x the build's time "
          f"(target >= {TARGETS['build_vs_peer']})")
    if figures["serial_seconds"] is not None:
        projected = figures["projected_speedup"]
        print(f"serial part {figures['serial_seconds']} s, parallel part {figures['parallel_seconds']} s on one core: "
              f"projected {projected['8']}x on 8 cores, {projected['16']}x on 16 (Amdahl)")
    print(f"peak RSS {figures['build_peak_rss_mb']:.0f} MB at {args.images} images, "
          f"{figures['scaled_peak_rss_mb']:.0f} MB at {figures['scaled_images']} "
          f"({figures['rss_growth']}x; targets < {TARGETS['peak_rss_mb']} MB and < {TARGETS['rss_growth']}x)")
    for problem in problems:
        print(f"check failed: {problem}")
    print(json.dumps(figures))
    return 1 if problems else 0


def amdahl(one: float, many: float, cores: int) -> dict:
    """The build's serial and parallel parts from its seconds on one core and on ``cores`` (one =
    S + P, many = S + P / cores), and the speed-up they project on 8 and 16 cores: one / (S + P / n).
    A serial part under 0 (the many-core run more than ``cores`` times as fast) counts as 0."""
    if cores < 2:
        return {"serial_seconds": None, "parallel_seconds": None, "projected_speedup": {}}
    parallel = min(one, (one - many) * cores / (cores - 1))
    serial = one - parallel
    return {"serial_seconds": round(serial, 2), "parallel_seconds": round(parallel, 2),
            "projected_speedup": {str(n): round(one / (serial + parallel / n), 2) for n in (8, 16)}}


def build_command(manifest: pathlib.Path, out: pathlib.Path) -> list:
    return [sys.executable, "-m", "pipeline.cli", "build", "--quiet", "--manifest", str(manifest),
            "--output", str(out), "--overwrite"]


def run(args, work: pathlib.Path, scratch: pathlib.Path) -> tuple:
    cores = sorted(os.sched_getaffinity(0))
    manifest = collection(work, args.images, tuple(args.size))
    images = manifest.parent / "images"
    runs = {"pinned": [], "all_cores": [], "peer": []}
    digests, problems = set(), []
    for _ in range(args.repeat):
        for way, cpus in (("pinned", {cores[0]}), ("all_cores", None)):
            out = scratch / way
            runs[way].append(timed_process(build_command(manifest, out), cpus))
            digests.add(output_digest(out))
        table = scratch / "peer.parquet"
        runs["peer"].append(timed_process([sys.executable, str(HERE), "--peer", str(images), str(table)]))
        hashed = pq.read_metadata(table).num_rows
        if hashed != args.images:
            problems.append(f"the peer script hashed {hashed} of {args.images} files")
    if len(digests) != 1:
        problems.append(f"the builds' outputs differ ({len(digests)} different sets of files over "
                        f"{2 * args.repeat} builds, pinned and on every core)")
    report = json.loads((scratch / "all_cores" / "report.json").read_text())
    if not report["samples"]["written"]:
        problems.append("the build wrote no sample")
    scaled = args.images * args.scale
    scaled_seconds, scaled_mb = timed_process(build_command(collection(work, scaled, tuple(args.size)),
                                                            scratch / "scaled"))
    best = {way: min(seconds for seconds, _ in found) for way, found in runs.items()}
    build_mb = max(mb for _, mb in runs["all_cores"])
    figures = {"images": args.images, "size": list(args.size), "repeat": args.repeat, "cores": len(cores),
               "samples": report["samples"]["written"],
               "all_cores_processes": report["timings"]["processes"],
               "all_cores_threads_per_process": report["timings"]["threads_per_process"],
               "pinned_seconds": best["pinned"], "all_cores_seconds": best["all_cores"],
               "peer_seconds": best["peer"],
               "speedup": round(best["pinned"] / best["all_cores"], 3),
               "build_vs_peer": round(best["peer"] / best["all_cores"], 3),
               "pinned_ms_per_image": round(1000 * best["pinned"] / args.images, 2),
               "build_peak_rss_mb": round(build_mb, 1),
               "pinned_peak_rss_mb": round(max(mb for _, mb in runs["pinned"]), 1),
               "scaled_images": scaled, "scaled_seconds": round(scaled_seconds, 2),
               "scaled_peak_rss_mb": round(scaled_mb, 1), "rss_growth": round(scaled_mb / build_mb, 3),
               "outputs_identical": len(digests) == 1, "checks_failed": problems,
               "runs_seconds": {way: [round(s, 2) for s, _ in found] for way, found in runs.items()}}
    figures.update(amdahl(best["pinned"], best["all_cores"], len(cores)))
    figures["targets_met"] = {"speedup": figures["speedup"] >= TARGETS["speedup"],
                              "build_vs_peer": figures["build_vs_peer"] >= TARGETS["build_vs_peer"],
                              "peak_rss": build_mb < TARGETS["peak_rss_mb"],
                              "rss_growth": figures["rss_growth"] < TARGETS["rss_growth"]}
    for way in ("pinned", "all_cores", "peer"):
        figures[f"{way}_seconds"] = round(figures[f"{way}_seconds"], 2)
    return figures, problems


if __name__ == "__main__":
    sys.exit(main())
