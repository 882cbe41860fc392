"""report.json: counts per stage and task, gathered from the outputs themselves.

Every output contributes "facts" (section, key); one combine counts them, and
``build_report`` turns the counts into the report, with the conservation checks.
"""
import collections

import apache_beam as beam

from .. import __version__
from ..interleaving import is_interleaved
from .shortcut_report import shortcut_section


class CountFacts(beam.CombineFn):
    def create_accumulator(self):
        return collections.Counter()

    def add_input(self, counter, fact):
        counter[fact] += 1
        return counter

    def merge_accumulators(self, counters):
        total = collections.Counter()
        for counter in counters:
            total.update(counter)
        return total

    def extract_output(self, counter):
        return dict(counter)


def listed_fact(ref):
    return ("images_in", ref.source)


def image_row_facts(row):
    yield ("image_status", row["status"])
    if row["status"] != "kept":
        yield ("image_reason", f"{row['status']}/{row['reason']}")
    if row["status"] == "duplicate":
        yield ("clusters", row["cluster"])


# The reject reason of the blind check (stages/score_difficulty.py).
ANSWERABLE_WITHOUT_IMAGES = "answerable_without_images"


def reject_facts(record):
    yield ("rejects", f"{record['stage']}/{record['reason']}")
    if record["reason"] == ANSWERABLE_WITHOUT_IMAGES:
        yield ("blind_rejected", record["task"])
    if record["subject_kind"] == "image" and record["stage"] == "read_sources":
        yield ("images_in", record["source"])
    if record["subject_kind"] == "context":
        yield ("samples_rejected", record["task"])


def context_fact(context):
    return ("contexts", context.task)


def sample_facts(sample):
    task = sample["task"]
    yield ("samples", f"{task}/{sample['split']}")
    yield ("answers", f"{task}/{sample['answer']}")
    yield ("difficulty", f"{task}/{sample['difficulty']['level']}")
    yield ("images_per_sample", f"{task}/{len(sample['images'])}")
    yield ("interleaved", f"{task}/{'yes' if is_interleaved(sample['question']) else 'no'}")
    yield ("grounded_images", f"{task}/{len({e['image'] for e in sample['reasoning']['text2region']})}")
    yield from blind_facts(task, sample["difficulty"])


def blind_facts(task: str, difficulty: dict):
    """A sample the blind check kept: flagged or not, and, when the solver's pass rate with the
    images is known too, its draws right of each kind ("task/blind right/blind draws/right/draws")."""
    if difficulty.get("answerable_without_images"):
        yield ("blind_flagged", task)
    if difficulty.get("blind_samples") and difficulty.get("pass_rate") is not None:
        blind_right = round(difficulty["blind_pass_rate"] * difficulty["blind_samples"])
        right = round(difficulty["pass_rate"] * difficulty["samples"])
        yield ("blind", f"{task}/{blind_right}/{difficulty['blind_samples']}/{right}/{difficulty['samples']}")


def _section(counts: dict, name: str) -> dict:
    return {key: n for (section, key), n in sorted(counts.items()) if section == name}


def _nested(flat: dict) -> dict:
    """{"a/b": n} -> {"a": {"b": n}}."""
    out = {}
    for key, n in flat.items():
        outer, inner = key.split("/", 1)
        out.setdefault(outer, {})[inner] = n
    return out


def _share(n: int, total: int):
    return round(n / total, 4) if total else None


def interleaving_figures(counts: dict) -> dict:
    """Per task and over all samples: the share whose text is interleaved (text of its own between
    every two images, ``interleaving.is_interleaved``), the mean number of images their
    Text2Region steps reach, and the share reaching two or more."""
    interleaved = _nested(_section(counts, "interleaved"))
    reached = {task: {int(k): n for k, n in per.items()} for task, per in _nested(_section(counts, "grounded_images")).items()}

    def figures(yes: int, by_count: dict) -> dict:
        total = sum(by_count.values())
        return {"samples": total, "interleaved_share": _share(yes, total),
                "mean_grounded_images": round(sum(k * n for k, n in by_count.items()) / total, 3) if total else None,
                "grounded_two_or_more_share": _share(sum(n for k, n in by_count.items() if k >= 2), total)}

    by_task = {task: figures(interleaved.get(task, {}).get("yes", 0), reached[task]) for task in sorted(reached)}
    overall = {}
    for per in reached.values():
        for k, n in per.items():
            overall[k] = overall.get(k, 0) + n
    return {"all": figures(sum(per.get("yes", 0) for per in interleaved.values()), overall), "by_task": by_task}


def blind_figures(counts: dict, settings) -> dict:
    """report.json's "blind": the blind check's settings (``difficulty.blind``), and per task and
    over all, how many samples were rejected or flagged as answerable without their images and,
    over the samples written whose pass rates with and without the images are both known
    (``samples_checked``), the share of blind draws right, the share of draws with the images
    right and their difference, the multimodal gain. None when the build ran no blind check."""
    if not settings or not settings["samples"]:
        return None
    paired = {}   # task -> [blind right, blind draws, right, draws, samples]
    for key, n in _section(counts, "blind").items():
        task, *numbers = key.split("/")
        totals = paired.setdefault(task, [0] * 5)
        for i, value in enumerate([*map(int, numbers), 1]):
            totals[i] += value * n
    flagged, rejected = _section(counts, "blind_flagged"), _section(counts, "blind_rejected")

    def figures(totals: list, flagged: int, rejected: int) -> dict:
        blind_right, blind_draws, right, draws, samples = totals
        return {"samples_checked": samples, "blind_pass_rate": _share(blind_right, blind_draws),
                "pass_rate": _share(right, draws),
                "multimodal_gain": round(right / draws - blind_right / blind_draws, 4) if samples else None,
                "rejected": rejected, "flagged": flagged}

    tasks = sorted(set(paired) | set(flagged) | set(rejected))
    overall = [sum(totals[i] for totals in paired.values()) for i in range(5)]
    return {"draws_per_sample": settings["samples"], "significance": settings["significance"],
            "on_answerable": settings["on_answerable"],
            "all": figures(overall, sum(flagged.values()), sum(rejected.values())),
            "by_task": {task: figures(paired.get(task, [0] * 5), flagged.get(task, 0), rejected.get(task, 0))
                        for task in tasks}}


def build_report(counts: dict, *, dataset: str, seed: int, drafter: str, threshold: int, output: dict,
                 shortcuts: dict = None, blind: dict = None) -> dict:
    """The report from the facts' ``counts``, the ``shortcuts`` totals
    (``shortcut_report.ShortcutTotals``; None: no sample) and the blind check's settings
    (``difficulty.blind`` of a build with a solver, else None)."""
    status = _section(counts, "image_status")
    images_in = sum(_section(counts, "images_in").values())
    accounted = sum(status.values())
    reasons = _nested(_section(counts, "image_reason"))
    contexts = _section(counts, "contexts")
    samples = _nested(_section(counts, "samples"))
    written = sum(sum(splits.values()) for splits in samples.values())
    rejected_samples = sum(_section(counts, "samples_rejected").values())
    sizes = _nested(_section(counts, "images_per_sample"))
    total_images = sum(int(k) * n for per_task in sizes.values() for k, n in per_task.items())
    return {
        "dataset": dataset, "seed": seed, "drafter": drafter, "pipeline_version": __version__, "output": output,
        "images": {"in": images_in, "by_source": _section(counts, "images_in"),
                   "kept": status.get("kept", 0), "duplicate": status.get("duplicate", 0),
                   "rejected": status.get("rejected", 0), "rejected_by_reason": reasons.get("rejected", {})},
        "dedup": {"threshold": threshold,
                  "exact_duplicates": reasons.get("duplicate", {}).get("exact_duplicate", 0),
                  "near_duplicates": reasons.get("duplicate", {}).get("near_duplicate", 0),
                  "clusters": len(_section(counts, "clusters"))},
        "contexts": {"total": sum(contexts.values()), "by_task": contexts},
        "samples": {"written": written, "rejected": rejected_samples, "by_task": samples,
                    "rejected_by_task": _section(counts, "samples_rejected"),
                    "mean_images": round(total_images / written, 3) if written else None},
        "interleaving": interleaving_figures(counts),
        "shortcuts": shortcut_section(shortcuts or {}),
        "blind": blind_figures(counts, blind),
        "answers": _nested(_section(counts, "answers")),
        "difficulty": _nested(_section(counts, "difficulty")),
        "rejects": _nested(_section(counts, "rejects")),
        "conservation": {
            "images": {"in": images_in, "kept_duplicate_rejected": accounted, "holds": images_in == accounted},
            "contexts": {"in": sum(contexts.values()), "written_plus_rejected": written + rejected_samples,
                         "holds": sum(contexts.values()) == written + rejected_samples},
        },
    }
