"""The dataset card (OUT/README.md): Hugging Face YAML with a default config (every task) and one
config per non-empty task, the licence the sources give, how to load it, and MIR's citation."""
import html
import re
import unicodedata

import yaml

from ..shortcuts import STRATEGIES
from ..tasks import TASKS

# An SPDX-style licence id ("CC0-1.0", "CC-BY-4.0", "Apache-2.0"): the Hub takes it in lower case.
_LICENCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")
MIR_CITATION = """@article{mir2025,
  title   = {From Easy to Hard: The MIR Benchmark for Progressive Interleaved Multi-Image Reasoning},
  journal = {arXiv preprint arXiv:2509.17040},
  year    = {2025},
  url     = {https://arxiv.org/abs/2509.17040}
}"""


def _configs(samples_by_task: dict) -> list:
    splits = sorted({split for per_task in samples_by_task.values() for split in per_task})
    default = {"config_name": "default", "default": True,
               "data_files": [{"split": split, "path": f"data/*/{split}-*.parquet"} for split in splits]}
    return [default] + [
        {"config_name": task,
         "data_files": [{"split": split, "path": f"data/{task}/{split}-*.parquet"} for split in sorted(per_task)]}
        for task, per_task in sorted(samples_by_task.items())]


def licence_fields(sources: list) -> dict:
    """The card's licence: the one id every source gives, or ``other`` with a name saying that
    the sources differ (the per-source table below the YAML gives each)."""
    licences = {s.licence.strip() for s in sources}
    if len(licences) == 1 and _LICENCE_ID.match(next(iter(licences))):
        return {"license": next(iter(licences)).lower()}
    return {"license": "other", "license_name": "per-source-licences",
            "license_link": "README.md#sources-and-licences"}


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


# The strategies that read the options only (every one but the text-only word-overlap baseline).
OPTION_ONLY = tuple(s for s in STRATEGIES if s != "word_overlap")


def _shortcut_row(name: str, figures: dict) -> str:
    if not figures["samples"]:
        return f"| {name} | 0 | - | - | - |"
    accuracy = figures["accuracy"]
    best = max(OPTION_ONLY, key=accuracy.get)  # the first in STRATEGIES' order among equals
    return (f"| {name} | {figures['samples']} | {_percent(figures['chance'])} | "
            f"{best} {_percent(accuracy[best])} | {_percent(accuracy['word_overlap'])} |")


def _shortcut_table(report: dict) -> str:
    shortcuts = report["shortcuts"]
    return "\n".join(["| task | samples | chance | best option-only strategy | word overlap |", "|---|---|---|---|---|",
                      *(_shortcut_row(task, figures) for task, figures in shortcuts["by_task"].items()),
                      _shortcut_row("all tasks", shortcuts["all"])])


def _gain(gain) -> str:
    return "-" if gain is None else f"{gain * 100:+.0f} points"


def _blind_section(blind) -> str:
    """The blind check's paragraph and table, or "" for a build that ran none."""
    if not blind:
        return ""
    overall = blind["all"]
    fate = ("rejected (`rejects/score_difficulty.jsonl`, reason `answerable_without_images`)"
            if blind["on_answerable"] == "reject" else
            "kept and flagged (`difficulty.answerable_without_images` is true)")
    rows = [f"| {task} | {f['samples_checked']} | {_percent(f['blind_pass_rate'])} | {_percent(f['pass_rate'])} | "
            f"{_gain(f['multimodal_gain'])} | {f['rejected']} | {f['flagged']} |" for task, f in blind["by_task"].items()]
    return f"""## Blind check

Every sample's question and options were also put to the solver without the images
({blind['draws_per_sample']} draws each), as MMStar filters its questions. A sample the solver answered right
without the images more often than chance allows (a one-sided binomial test against one over the
number of options, p <= {blind['significance']:g}) was {fate}: {overall['rejected']} rejected,
{overall['flagged']} flagged. Over the {overall['samples_checked']} samples written whose pass rates with and
without the images are both known, the solver was right {_percent(overall['blind_pass_rate'])} of the time
without the images and {_percent(overall['pass_rate'])} with them: a multimodal gain of
{_gain(overall['multimodal_gain'])}.

| task | checked | right without images | right with images | multimodal gain | rejected | flagged |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

"""


def render_card(report: dict, sources: list) -> str:
    front = {"pretty_name": plain_line(report["dataset"]), **licence_fields(sources),
             "task_categories": ["visual-question-answering", "multiple-choice"],
             "configs": _configs(report["samples"]["by_task"])}
    licences = "\n".join(["| source | licence | attribution |", "|---|---|---|",
                          *(f"| {_cell(s.name)} | {_cell(s.licence)} | {_cell(s.attribution)} |" for s in sources)])
    images = report["images"]
    return f"""---
{yaml.safe_dump(front, sort_keys=False, width=float('inf')).strip()}
---

# {one_line(report['dataset'])}

MIR-style multi-image reasoning questions: each sample interleaves about six images with a
multiple-choice question and carries the five reasoning steps (Summary, Caption, Text2Region,
Region2Region, Conclusion). Built by `mir` {report['pipeline_version']} with the `{report['drafter']}`
drafter and seed {report['seed']}.

## Load it

```python
from datasets import load_dataset

every_task = load_dataset("path/to/this/folder")                  # the default config: all tasks
one_task = load_dataset("path/to/this/folder", "{_first_task(report)}")
```

`images` loads as a list of PIL images, one per `<image>` of the question, in order;
`image_facts` says what the build knows of each (where it was read, sha256, size, perceptual
hash, and for a tile or zoom the image it was derived from). pandas, pyarrow and DuckDB read the
shards as they are (`data/<task>/<split>-*.parquet`).

{_IMAGE_STORAGE[report["output"]["images"]]}

## Samples

{_task_table(report)}

{report['samples']['written']} samples written, {report['samples']['rejected']} contexts rejected;
{report['samples']['mean_images']} images per sample on average. "Interleaved" counts the samples whose
question has text of its own between every two images (as MIR's inference code splits it on each
`<image>`); "grounded images" is how many images a sample's Text2Region steps point into.

## Shortcuts

How often a reader who never looks at the images picks the answer. Option-only strategies read
the options alone: the option nearest to or farthest from the others, the longest or shortest,
the first or last label, and the option text most often right for the same wording of the
question in the other samples; "word overlap" picks the option whose words the question's text
holds most. A tie earns its share. A fair question leaves each of them at chance (one over the
number of options); `report.json` `shortcuts` has every strategy's accuracy.

{_shortcut_table(report)}

{_blind_section(report.get("blind"))}## Images

{images['in']} files ingested: {images['kept']} kept, {images['duplicate']} duplicates removed
({report['dedup']['exact_duplicates']} exact, {report['dedup']['near_duplicates']} near, perceptual-hash
threshold {report['dedup']['threshold']}), {images['rejected']} rejected. Every file and its fate is
listed in `images.parquet`; every rejected file or context in `rejects/`.

## Sources and licences

{licences}

Each sample's `provenance.sources` names the licence and attribution of the images it uses.

## Citation

The tasks and the five reasoning steps follow the MIR benchmark:

```bibtex
{MIR_CITATION}
```
"""


_IMAGE_STORAGE = {
    "embedded": "Every shard is self-contained: each sample carries its images' bytes.",
    "shared": "Each source image is stored once, in `image_table/images-*.parquet` (columns `sha256` and "
              "`image`), and a sample names it by `image_facts[i].sha256`; its `images` entries carry bytes only "
              "for the tiles and zooms the build derived. `mir export` and `mir preview` join them for you; "
              "`load_dataset(\"parquet\", data_files=\"image_table/*.parquet\")` loads the table itself.",
    "referenced": "The shards hold no source image bytes: `images[i].path` is where the build read each image "
                  "(only the tiles and zooms it derived are embedded), so the images load only where those "
                  "paths can be opened.",
}


# Characters Markdown reads as markup anywhere in a line (escapes, code, emphasis, links, headings
# closing marks, table cells, strikethrough); a line of the card never starts with the data's text.
_MARKDOWN = re.compile(r"([\\`*_\[\]#|~])")


def plain_line(text) -> str:
    """Text from data as one line without markup: every run of whitespace (newlines, line and
    paragraph separators included) one space; control, format and bidi characters written as
    ``\\uXXXX``; HTML's ``& < >`` as entities."""
    text = "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") and not c.isspace() else c
                   for c in " ".join(str(text).split()))
    return html.escape(text, quote=False)


def one_line(text) -> str:
    """Text from data as one harmless line of the card's Markdown: ``plain_line``, and Markdown's
    markup characters backslash-escaped."""
    return _MARKDOWN.sub(r"\\\1", plain_line(text))


def _cell(text: str) -> str:
    """Text that stays inside one Markdown table cell."""
    return one_line(text)


def _first_task(report: dict) -> str:
    return min(report["samples"]["by_task"], default=next(iter(TASKS)))
