"""Yield per task: of the contexts a build groups for each task, the share the offline drafter turns
into a question that passes every rule (findable names, no answer from the text, the options or
knowledge, only stated numbers), on a collection whose photos carry regions with depths, weights
and real sizes.

Generates N photo-like JPEGs (``build_bench.photo``, 320x240 by default) in groups of 60, each with
two regions labelled like "item 1234-0" (``--labels numbered``: numbers in names are names, not
hidden quantities) or by common nouns (``--labels words``), every region carrying ``depth_m``,
``weight_kg`` and ``real_size_m`` drawn log-uniformly and a box of random size and place; then
builds it with `mir build` (the grounded drafter) and reads report.json and rejects/draft.jsonl.
Prints, per task, contexts, samples, yield and the drafter's refusal reasons; the target is a
yield of at least 0.80 for every task the collection serves. Last line: one JSON object.

    .venv/bin/python benchmarks/yield_bench.py [--images 20000] [--labels numbered|words] [--work DIR]
"""
import argparse
import collections
import json
import multiprocessing
import pathlib
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from build_bench import _write_photo  # noqa: E402  (the same photo-like images)

TARGET = 0.80
NOUNS = ("bench", "lamp", "kettle", "bicycle", "tractor", "violin", "anchor", "barrel", "bucket", "candle", "drum",
         "easel", "globe", "hammer", "helmet", "ladder", "mailbox", "mug", "oar", "parcel", "piano", "pumpkin",
         "rake", "saddle", "scooter", "sofa", "statue", "suitcase", "teapot", "tent", "tyre", "umbrella", "vase")


def _region(rng, label: str) -> dict:
    w, h = rng.uniform(0.08, 0.5, size=2)
    x, y = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
    values = np.exp(rng.uniform(np.log(0.05), np.log(2000), size=3)).round(2)
    return {"id": re.sub(r"\W+", "_", label), "label": label,
            "bbox": [round(x, 3), round(y, 3), round(x + w, 3), round(y + h, 3)],
            "attributes": {"depth_m": float(values[0]), "weight_kg": float(values[1]), "real_size_m": float(values[2])}}


def make_collection(folder: pathlib.Path, count: int, size: tuple, labels: str) -> pathlib.Path:
    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.glob("*.jpg"))) != count:
        with multiprocessing.Pool() as pool:
            pool.map(_write_photo, [(folder, i, tuple(size)) for i in range(count)], chunksize=16)
    rng = np.random.default_rng(1)
    lines = []
    for i in range(count):
        names = [f"item {i}-{k}" for k in range(2)] if labels == "numbered" else \
            [f"{NOUNS[(7 * i + k) % len(NOUNS)]} {chr(97 + k)}" for k in range(2)]
        lines.append({"file": f"img{i:05d}.jpg", "caption": f"Generated photo {i}.", "group": f"g{i // 60}",
                      "regions": [_region(rng, name) for name in names]})
    (folder / "metadata.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    manifest = folder.parent / f"manifest-{labels}.yaml"
    manifest.write_text(f"name: yield\nsources:\n  - {{name: gen, kind: folder, location: {folder}, "
                        "licence: CC0-1.0, attribution: generated}\n")
    return manifest


def refusals(out: pathlib.Path) -> tuple:
    """Per task, from the draft stage's rejects: a Counter of the contexts' reject reasons, and a
    Counter of why each of their templates was refused ("answer_from_knowledge", ...)."""
    rejected, templates = collections.defaultdict(collections.Counter), collections.defaultdict(collections.Counter)
    path = out / "rejects" / "draft.jsonl"
    for line in path.read_text().splitlines() if path.exists() else []:
        record = json.loads(line)
        rejected[record["task"]][record["reason"]] += 1
        if "(refused" in record["detail"]:
            templates[record["task"]].update(re.findall(r": (\w+)", record["detail"].split("(refused", 1)[1]))
    return rejected, templates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--size", type=int, nargs=2, default=(320, 240))
    parser.add_argument("--labels", choices=("numbered", "words"), default="numbered")
    parser.add_argument("--work", type=pathlib.Path, help="keep the generated photos here and reuse them")
    args = parser.parse_args()
    work = args.work or pathlib.Path(tempfile.mkdtemp(prefix="yield-bench-"))
    manifest = make_collection(work / f"photos-{args.images}", args.images, args.size, args.labels)
    out = work / "out"
    subprocess.run([sys.executable, "-m", "pipeline.cli", "build", "--manifest", str(manifest), "--output", str(out),
                    "--overwrite", "--quiet"], check=True, stdout=sys.stderr)
    report = json.loads((out / "report.json").read_text())
    rejected, templates = refusals(out)
    per_task = {}
    for task, contexts in sorted(report["contexts"]["by_task"].items()):
        samples = sum(report["samples"]["by_task"].get(task, {}).values())
        per_task[task] = {"contexts": contexts, "samples": samples, "yield": round(samples / contexts, 4),
                          "rejected": dict(rejected[task].most_common()),
                          "templates_refused": dict(templates[task].most_common())}
        print(f"{task:22s} {contexts:6d} contexts {samples:6d} samples  yield {samples / contexts:6.1%}  "
              f"templates refused: {dict(templates[task].most_common(3))}")
    below = sorted(t for t, f in per_task.items() if f["yield"] < TARGET)
    print(f"target: yield >= {TARGET:.0%} for every task served; below: {below or 'none'}")
    print(json.dumps({"images": args.images, "labels": args.labels, "target": TARGET, "below_target": below,
                      "by_task": per_task}))


if __name__ == "__main__":
    main()
