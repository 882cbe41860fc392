"""The dataset card (OUT/README.md): Hugging Face YAML with one config per non-empty task."""
import yaml

from ..tasks import TASKS


def _configs(samples_by_task: dict) -> list:
    return [{"config_name": task,
             "data_files": [{"split": split, "path": f"data/{task}/{split}-*.parquet"} for split in sorted(splits)]}
            for task, splits in sorted(samples_by_task.items())]


def _percent(share) -> str:
    return "-" if share is None else f"{share:.0%}"


def _task_table(report: dict) -> str:
    lines = ["| task | category | train | test | interleaved | grounded images (mean) | grounding 2+ images |",
             "|---|---|---|---|---|---|---|"]
    interleaving = report["interleaving"]["by_task"]
    for task, splits in sorted(report["samples"]["by_task"].items()):
        figures = interleaving[task]
        lines.append(f"| {task} | {TASKS[task].category} | {splits.get('train', 0)} | {splits.get('test', 0)} | "
                     f"{_percent(figures['interleaved_share'])} | {figures['mean_grounded_images']} | "
                     f"{_percent(figures['grounded_two_or_more_share'])} |")
    return "\n".join(lines)


def render_card(report: dict, sources: list) -> str:
    front = {"pretty_name": report["dataset"], "license": "other",
             "task_categories": ["visual-question-answering", "multiple-choice"],
             "configs": _configs(report["samples"]["by_task"])}
    licences = "\n".join(f"- **{s.name}**: {s.licence}. {s.attribution}" for s in sources)
    images = report["images"]
    return f"""---
{yaml.safe_dump(front, sort_keys=False).strip()}
---

# {report['dataset']}

MIR-style multi-image reasoning questions: each sample interleaves about six images with a
multiple-choice question and carries the five reasoning steps (Summary, Caption, Text2Region,
Region2Region, Conclusion). Built by `mir` {report['pipeline_version']} with the `{report['drafter']}`
drafter and seed {report['seed']}.

## Samples

{_task_table(report)}

{report['samples']['written']} samples written, {report['samples']['rejected']} contexts rejected;
{report['samples']['mean_images']} images per sample on average. "Interleaved" counts the samples whose
question has text of its own between every two images (as MIR's inference code splits it on each
`<image>`); "grounded images" is how many images a sample's Text2Region steps point into.

## Images

{images['in']} files ingested: {images['kept']} kept, {images['duplicate']} duplicates removed
({report['dedup']['exact_duplicates']} exact, {report['dedup']['near_duplicates']} near, perceptual-hash
threshold {report['dedup']['threshold']}), {images['rejected']} rejected. Every file and its fate is
listed in `images.parquet`; every rejected file or context in `rejects/`.

## Sources and licences

{licences}

Each sample's `provenance.sources` names the licence and attribution of the images it uses.
"""
