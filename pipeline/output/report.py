"""report.json: counts per stage and task, gathered from the outputs themselves.

Every output contributes "facts" (section, key); one combine counts them, and
``build_report`` turns the counts into the report, with the conservation checks. Reasons are
put in plain words by ``plain_words`` (reject.schema.json's ``x-plain-words``), and
``tasks_without_samples`` says why a task got none.
"""
import collections
import functools
import re

import apache_beam as beam

from .. import __version__
from ..interleaving import is_interleaved
from ..schemas import load_schema
from ..tasks import TASKS
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
# A source some of whose named files are missing (sources/coco.py), a views scene whose cameras
# cover less than half a circle (sources/nerf.py): the build goes on, and mir build repeats the
# reject's detail as a warning.
WARNING_REASONS = ("some_images_not_found", "narrow_scene")
NO_QUESTION = "no_grounded_question"
# The grounded drafter's no_grounded_question detail ends "(refused <template>: <refusal>, ...)"
# (drafters/grounded.py); its refusals are counted, so a task whose every draft was refused says why.
_REFUSALS = re.compile(r"\(refused (.*)\)$")
_REFUSAL = re.compile(r"\w+: ([a-z_]+)")


@functools.cache
def _plain_words() -> dict:
    return load_schema("reject")["properties"]["reason"]["x-plain-words"]


def plain_words(reason: str) -> str:
    """What a reject reason (or a grounded refusal) means, in words a user reads without the code."""
    return _plain_words().get(reason, reason.replace("_", " "))


def refusals_of(detail: str) -> list:
    """The refusal codes a no_grounded_question detail lists, one per refused template."""
    listed = _REFUSALS.search(detail)
    return _REFUSAL.findall(listed.group(1)) if listed else []


def reject_facts(record):
    yield ("rejects", f"{record['stage']}/{record['reason']}")
    if record["task"]:
        yield ("task_rejects", f"{record['task']}/{record['stage']}/{record['reason']}")
    if record["reason"] == NO_QUESTION:
        for refusal in refusals_of(record["detail"]):
            yield ("refusals", f"{record['task']}/{refusal}")
    if record["reason"] in WARNING_REASONS:
        yield ("warnings", record["detail"])
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
        "rejects_by_task": _nested(_section(counts, "task_rejects")),
        "refusals_by_task": _nested(_section(counts, "refusals")),
        "warnings": sorted(_section(counts, "warnings")),
        "conservation": {
            "images": {"in": images_in, "kept_duplicate_rejected": accounted, "holds": images_in == accounted},
            "contexts": {"in": sum(contexts.values()), "written_plus_rejected": written + rejected_samples,
                         "holds": sum(contexts.values()) == written + rejected_samples},
        },
    }


def _counted(counts: dict) -> list:
    """(n, key) pairs, most first, ties by key."""
    return sorted(((n, key) for key, n in counts.items()), key=lambda pair: (-pair[0], pair[1]))


def _times(n: int, reason: str) -> str:
    return f"{n} × {plain_words(reason)} [{reason}]"


def commonest_rejects(report: dict, how_many: int = 3) -> list:
    """The ``how_many`` commonest reject reasons over every stage, each "n × plain words [code]"."""
    by_reason = collections.Counter()
    for reasons in report["rejects"].values():
        by_reason.update(reasons)
    return [_times(n, reason) for n, reason in _counted(by_reason)[:how_many]]


def _rejected_why(rejects: dict, refusals: dict) -> str:
    """A task's rejected contexts, reason by reason; a no_grounded_question with the refusals
    that made its templates give up, the commonest first."""
    parts = []
    for n, key in _counted(rejects):
        reason = key.split("/", 1)[1]
        part = _times(n, reason)
        if reason == NO_QUESTION and refusals:
            part += " (refused: " + "; ".join(_times(k, code) for k, code in _counted(refusals)) + ")"
        parts.append(part)
    return "; ".join(parts)


# Where a task's images stopped, in tasks_without_samples: left out by the sources' or images'
# `tasks` lists, none carrying what it needs, too few per group, every window of its sequences
# another task's turn, or contexts all rejected.
LEFT_OUT, NO_METADATA, TOO_FEW, TAKEN, REJECTED = ("left_out", "no_metadata", "too_few_images", "taken_by_other_tasks",
                                                  "rejected")


def _why(task, report: dict, counters: dict, fed: bool, min_images: int) -> tuple:
    """(where, why): where ``task``'s images stopped and why, from the counts the build keeps."""
    def count(name):
        return counters.get(f"group_contexts.{name}.{task.id}", 0)
    made = report["contexts"]["by_task"].get(task.id, 0)
    if not fed:
        return LEFT_OUT, "no source lists it in its `tasks`"
    if made:
        return REJECTED, (f"{made} context{'s' if made > 1 else ''} made, none written: "
                          + _rejected_why(report["rejects_by_task"].get(task.id, {}),
                                          report["refusals_by_task"].get(task.id, {})))
    if not counters:
        return NO_METADATA, "no context was made for it (the runner reported no counters to say why)"
    if not count("offered"):
        return LEFT_OUT, "no kept image was offered to it (the images' own `tasks` leave it out)"
    if not count("eligible"):
        return NO_METADATA, (f"none of the {count('offered')} images offered to it carries the metadata it needs "
                             "(docs/sidecar-format.md, 'The tasks')")
    if count("windows_to_other_tasks"):
        windows = count("windows_to_other_tasks")
        return TAKEN, (f"its sequences' {windows} window{'s' if windows > 1 else ''} went to the other tasks that "
                       "take turns at them")
    if task.grouping != "single" and count("in_small_groups") == count("eligible"):
        return TOO_FEW, (f"too few images: its {count('eligible')} images come in groups or sequences of fewer "
                         f"than {min_images}")
    return TOO_FEW, f"its {count('eligible')} images made no context"


def tasks_without_samples(report: dict, counters: dict, sources, grouping: dict) -> dict:
    """report.json's ``tasks_without_samples``: per task that got no sample, where its images
    stopped (``stopped``: LEFT_OUT, NO_METADATA, TOO_FEW, TAKEN or REJECTED) and ``why``, in plain
    words. ``counters``: the build's Beam counters (GroupContexts' per-task ones; empty when the
    runner reports none), ``sources``: the manifest's, ``grouping``: its grouping settings."""
    written = report["samples"]["by_task"]
    out = {}
    for task in TASKS.values():
        if task.id not in written:
            stopped, why = _why(task, report, counters, any(s.feeds(task.id) for s in sources),
                                task.min_images or grouping["min_images"])
            out[task.id] = {"stopped": stopped, "why": why}
    return out
