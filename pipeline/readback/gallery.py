"""A static HTML gallery of a build: index.html with the counts per task and split, and one page
per task showing each sample as a reader meets it (text and images interleaved in reading order,
Text2Region boxes over the images), then its options, reasoning and difficulty.

Images are written once each as files under ``images/``; every text is HTML-escaped; the same
build gives the same bytes. Each sample shown is judged first (``inputs.judged``, as ``mir
validate`` does): an invalid one (a hand-edited shard) is left out and reported, so no sha256
from data becomes a file name unchecked."""
import collections
from html import escape

from apache_beam.io.filesystems import FileSystems

from .curriculum import STEPS
from .inputs import judged
from .shards import (ImageFiles, ImageTable, iter_samples, read_ids, row_count, shard_paths, shard_split, shard_task,
                     write_file)

BOX_COLOUR = "#ff00ff"  # one vivid colour that photos rarely hold, so boxes stand out
_STYLE = f"""
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 76rem; padding: 0 1rem; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: .3rem .7rem; text-align: left; }}
article {{ border-top: 2px solid #ddd; padding: 1rem 0; }}
.question {{ display: flex; flex-wrap: wrap; align-items: flex-end; gap: .6rem; }}
.question p {{ margin: 0; }}
figure {{ margin: 0; width: 220px; }}
figcaption {{ font-size: 12px; color: #555; }}
.frame {{ position: relative; line-height: 0; }}
.frame img {{ display: block; width: 100%; height: auto; }}
.box {{ position: absolute; box-sizing: border-box; border: 3px solid {BOX_COLOUR}; }}
.box span {{ position: absolute; left: 0; top: 0; background: {BOX_COLOUR}; color: #fff; font-size: 11px;
            line-height: 1.3; padding: 0 3px; white-space: nowrap; }}
.options li.answer {{ font-weight: bold; color: #0a6b2f; }}
.difficulty {{ display: inline-block; padding: 0 .5rem; border-radius: .5rem; background: #eee; }}
.broken {{ outline: 3px dashed red; }}
"""
# Marks an image that failed to load, so a broken gallery is visible at a glance (and testable).
_MARK_BROKEN_IMAGES = """
window.addEventListener("load", () => {
  for (const img of document.images) {
    img.dataset.loaded = img.complete && img.naturalWidth > 0 ? "yes" : "no";
    if (img.dataset.loaded === "no") img.classList.add("broken");
  }
});
"""
_STEP_TITLES = {"summary": "Summary", "captions": "Captions", "text2region": "Text2Region",
                "region2region": "Region2Region", "conclusion": "Conclusion"}


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{escape(title)}</title>\n"
            f"<style>{_STYLE}</style>\n<script>{_MARK_BROKEN_IMAGES}</script>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def _percent(value: float) -> str:
    return f"{value * 100:.2f}%"


def _box(region: dict) -> str:
    x0, y0, x1, y1 = region["bbox"]
    style = f"left:{_percent(x0)};top:{_percent(y0)};width:{_percent(x1 - x0)};height:{_percent(y1 - y0)}"
    label = escape(region["label"])
    return f"<div class=\"box\" style=\"{style}\" title=\"{label}\"><span>{label}</span></div>"


def _figure(number: int, image: dict, src: str, regions: list) -> str:
    boxes = "".join(_box(r) for r in regions if r["image"] == number)
    return (f"<figure><figcaption>Image {number}</figcaption><div class=\"frame\">"
            f"<img src=\"{escape(src)}\" width=\"{image['width']}\" height=\"{image['height']}\" "
            f"alt=\"Image {number}\">{boxes}</div></figure>")


def _question(sample: dict, sources: list) -> str:
    """The question's text with each ``<image>`` replaced by its image; images the question
    has no placeholder for follow at the end, so none is hidden."""
    texts = sample["question"].split("<image>")
    figures = [_figure(number, image, src, sample["reasoning"]["text2region"])
               for number, (image, src) in enumerate(zip(sample["image_facts"], sources), 1)]
    placed = min(len(texts) - 1, len(figures))
    parts = []
    for i, text in enumerate(texts):
        if text.strip():
            parts.append(f"<p>{escape(text.strip())}</p>")
        if i < placed:
            parts.append(figures[i])
    parts.extend(figures[placed:])
    return "<div class=\"question\">" + "".join(parts) + "</div>"


def _options(sample: dict) -> str:
    items = []
    for option in sample["options"]:
        is_answer = option["label"] == sample["answer"]
        mark = " <span title=\"answer\">&#10003; answer</span>" if is_answer else ""
        css = " class=\"answer\"" if is_answer else ""
        items.append(f"<li{css}><b>{escape(option['label'])}.</b> {escape(option['text'])}{mark}</li>")
    return "<ul class=\"options\">" + "".join(items) + "</ul>"


def _region_ref(ref: dict) -> str:
    return f"{escape(ref['label'])} (Image {ref['image']})"


def _step_items(reasoning: dict, step: str) -> list:
    if step == "captions":
        return [f"Image {i}: {escape(c)}" for i, c in enumerate(reasoning["captions"], 1)]
    if step == "text2region":
        return [f"&ldquo;{escape(t['text'])}&rdquo; &rarr; {_region_ref(t)}" for t in reasoning["text2region"]]
    if step == "region2region":
        return [f"{_region_ref(r['from'])} <i>{escape(r['relation'])}</i> {_region_ref(r['to'])}: "
                f"{escape(r['explanation'])}" for r in reasoning["region2region"]]
    return [escape(reasoning[step])]


def _reasoning(reasoning: dict) -> str:
    steps = []
    for step in STEPS:
        items = "".join(f"<li>{item}</li>" for item in _step_items(reasoning, step)) or "<li>none</li>"
        steps.append(f"<li><b>{_STEP_TITLES[step]}</b><ul>{items}</ul></li>")
    return "<ol class=\"reasoning\">" + "".join(steps) + "</ol>"


def _difficulty(difficulty: dict) -> str:
    rate = "" if difficulty["pass_rate"] is None else f", pass rate {difficulty['pass_rate']:.2f} over {difficulty['samples']}"
    return (f"<span class=\"difficulty\">{escape(difficulty['level'])}</span> "
            f"<small>({escape(difficulty['method'])}{rate})</small>")


def _article(sample: dict, images: ImageFiles) -> str:
    sources = images.names(sample)
    return (f"<article id=\"{escape(sample['id'])}\">\n<h2>{escape(sample['id'])}</h2>\n"
            f"<p>split {escape(sample['split'])} &middot; difficulty {_difficulty(sample['difficulty'])}</p>\n"
            f"{_question(sample, sources)}\n{_options(sample)}\n{_reasoning(sample['reasoning'])}\n</article>")


def _task_page(task: str, paths: list, limit: int, images: ImageFiles, left_out) -> tuple:
    """The page of one task: its first ``limit`` valid samples of the first ``limit`` by id;
    returns (html, samples shown). ``left_out(message)`` hears each invalid one."""
    ids = sorted(i for path in paths for i in read_ids(path) if isinstance(i, str))
    chosen = set(ids[:limit])
    samples = []
    for path, row, sample in iter_samples(paths, chosen, where=True):
        problem = judged(sample)
        if problem is None:
            samples.append(sample)
        else:
            left_out(f"{path}:{row}: {problem}")
    samples.sort(key=lambda s: s["id"])
    body = (f"<p><a href=\"index.html\">&larr; all tasks</a></p>\n<h1>{escape(task)}</h1>\n"
            f"<p>showing {len(samples)} of {len(ids)} samples, by id</p>\n"
            + "\n".join(_article(sample, images) for sample in samples))
    return _page(f"{task} - mir preview", body), len(samples)


def _index(out: str, counts: dict, shown: dict) -> str:
    splits = sorted({split for per_split in counts.values() for split in per_split})
    head = "<tr><th>task</th>" + "".join(f"<th>{escape(s)}</th>" for s in splits) + "<th>total</th><th>shown</th></tr>"
    rows = []
    for task, per_split in sorted(counts.items()):
        cells = "".join(f"<td>{per_split.get(s, 0)}</td>" for s in splits)
        link = f"<a href=\"{escape(task)}.html\">{escape(task)}</a>" if task in shown else escape(task)
        rows.append(f"<tr><td>{link}</td>{cells}<td>{sum(per_split.values())}</td><td>{shown.get(task, 0)}</td></tr>")
    total = sum(sum(per_split.values()) for per_split in counts.values())
    body = (f"<h1>mir preview</h1>\n<p>{total} samples in {len(counts)} tasks, from <code>{escape(out)}</code></p>\n"
            f"<table>\n{head}\n" + "\n".join(rows) + "\n</table>")
    return _page("mir preview", body)


def write_preview(out: str, dest: str, task: str = None, limit: int = 20, left_out=None) -> dict:
    """Write the gallery of the build at ``out`` into ``dest``; return the pages and counts.
    An invalid sample is left out and counted; ``left_out(message)`` hears why."""
    all_paths = shard_paths(out)
    chosen_paths = shard_paths(out, task) if task else all_paths
    counts = collections.defaultdict(collections.Counter)
    for path in all_paths:
        counts[shard_task(path)][shard_split(path)] += row_count(path)
    by_task = collections.defaultdict(list)
    for path in chosen_paths:
        by_task[shard_task(path)].append(path)
    images = ImageFiles(dest, "images", ImageTable(out))
    reasons = []

    def leave_out(message: str) -> None:
        reasons.append(message)
        if left_out is not None:
            left_out(message)

    shown = {}
    for name, paths in sorted(by_task.items()):
        html, shown[name] = _task_page(name, paths, limit, images, leave_out)
        write_file(FileSystems.join(dest, f"{name}.html"), html.encode("utf-8"))
    write_file(FileSystems.join(dest, "index.html"), _index(out, counts, shown).encode("utf-8"))
    return {"pages": len(shown), "samples": sum(shown.values()), "images": images.count,
            "index": FileSystems.join(dest, "index.html"), "left_out": len(reasons)}
