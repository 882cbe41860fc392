"""`mir preview` on a real build, rendered in headless Chromium (Debian's `chromium` package,
installed by scripts/install_chromium.sh)."""
import collections
import hashlib
import html
import json
import pathlib
import re
import subprocess

import numpy as np
import pytest
from PIL import Image

from pipeline.cli import main
from pipeline.readback.gallery import BOX_COLOUR
from tests.markup_build import build, samples  # noqa: F401 (fixtures)

CHROMIUM = pathlib.Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="Chromium is not installed: run `bash scripts/install_chromium.sh`")
GROUNDED_TASK = "location_relationship"  # its samples draw one Text2Region box per named object
# Appended to a copy of a page: after load, reports where each image and box was laid out.
PROBE = """<script>
window.addEventListener("load", () => {
  const rect = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const report = {
    underlined: document.querySelectorAll("u").length,
    text: document.body.innerText,
    articles: [...document.querySelectorAll("article")].map(a => ({
      id: a.id,
      figures: [...a.querySelectorAll(".frame")].map(frame => {
        const img = frame.querySelector("img");
        return {natural: [img.naturalWidth, img.naturalHeight], loaded: img.dataset.loaded, img: rect(img),
                boxes: [...frame.querySelectorAll(".box")].map(b => ({rect: rect(b), title: b.title,
                                                                     colour: getComputedStyle(b).borderTopColor}))};
      })})),
  };
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(report);
  document.body.append(pre);
});
</script>"""


@pytest.fixture(scope="module")
def gallery(build, tmp_path_factory):
    dest = tmp_path_factory.mktemp("gallery")
    assert main(["preview", str(build), "--limit", "3", "--output", str(dest)]) == 0
    return dest


def chromium(tmp_path, *args):
    done = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,1600", *args],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def probe(page: pathlib.Path, tmp_path) -> dict:
    """Render ``page`` (a copy next to it, so its relative image paths hold) and return the report."""
    copy = page.with_name(f"probe-{page.name}")
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", copy.as_uri())
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert match, dom[-2000:]
    return json.loads(html.unescape(match.group(1)))


@needs_chromium
def test_images_load_and_boxes_sit_on_their_regions(gallery, samples, tmp_path):
    report = probe(gallery / f"{GROUNDED_TASK}.html", tmp_path)
    assert report["articles"]
    boxes_seen = 0
    for article in report["articles"]:
        sample = samples[article["id"]]
        assert len(article["figures"]) == len(sample["images"])
        for number, (figure, image) in enumerate(zip(article["figures"], sample["image_facts"]), 1):
            assert figure["loaded"] == "yes" and figure["natural"] == [image["width"], image["height"]]
            regions = [r for r in sample["reasoning"]["text2region"] if r["image"] == number]
            assert len(figure["boxes"]) == len(regions)
            left, top, right, bottom = figure["img"]
            for box, wanted in zip(figure["boxes"], regions):
                x0, y0, x1, y1 = wanted["bbox"]
                expected = [left + x0 * (right - left), top + y0 * (bottom - top),
                            left + x1 * (right - left), top + y1 * (bottom - top)]
                assert box["rect"] == pytest.approx(expected, abs=1.0)
                assert box["title"] == wanted["label"]
                assert box["colour"] == "rgb({}, {}, {})".format(*Image.new("RGB", (1, 1), BOX_COLOUR).getpixel((0, 0)))
                boxes_seen += 1
    assert boxes_seen > 0


@needs_chromium
def test_boxes_show_in_a_screenshot(gallery, tmp_path):
    shot = tmp_path / "shot.png"
    chromium(tmp_path, f"--screenshot={shot}", (gallery / f"{GROUNDED_TASK}.html").as_uri())
    colour = Image.new("RGB", (1, 1), BOX_COLOUR).getpixel((0, 0))
    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    assert (pixels == colour).all(axis=1).sum() > 100  # at least one box's border, drawn on screen
    assert len(np.unique(pixels, axis=0)) > 1000  # photos, not a blank page


@needs_chromium
def test_text_is_escaped_and_read_in_order_with_its_images(gallery, samples, tmp_path):
    report = probe(gallery / f"{GROUNDED_TASK}.html", tmp_path)
    assert report["underlined"] == 0  # markup in captions stayed text
    assert 'Photo <u>' in report["text"] and '& "friends"' in report["text"]
    for article in report["articles"]:
        sample = samples[article["id"]]
        # The page's text, read top to bottom, is the question with each image in its place.
        pieces = [p.strip() for p in sample["question"].split("<image>")]
        start = 0
        for number, piece in enumerate(pieces):
            start = report["text"].index(piece, start) + len(piece)
            if number < len(pieces) - 1:
                start = report["text"].index(f"Image {number + 1}", start)
        answer = next(o for o in sample["options"] if o["label"] == sample["answer"])
        assert f"{answer['label']}. {answer['text']} ✓ answer" in report["text"]
        assert sample["reasoning"]["conclusion"] in report["text"]
        assert sample["difficulty"]["level"] in report["text"]


def test_index_counts_every_task_and_split_and_links_each_page(gallery, samples):
    index = (gallery / "index.html").read_text(encoding="utf-8")
    counts = collections.Counter((s["task"], s["split"]) for s in samples.values())
    splits = sorted({split for _, split in counts})
    for task in {task for task, _ in counts}:
        row = re.search(rf'<tr><td><a href="{task}\.html">{task}</a></td>(.*?)</tr>', index)
        assert row, task
        cells = [int(c) for c in re.findall(r"<td>(\d+)</td>", row.group(1))]
        assert cells[:len(splits)] == [counts[task, split] for split in splits]
        assert cells[len(splits)] == sum(counts[task, split] for split in splits)
        page = (gallery / f"{task}.html").read_text(encoding="utf-8")
        assert page.count("<article") == min(3, sum(counts[task, split] for split in splits))


def test_images_are_files_written_once_by_content(gallery):
    pages = "".join(p.read_text(encoding="utf-8") for p in gallery.glob("*.html"))
    sources = set(re.findall(r'<img src="([^"]+)"', pages))
    assert "data:" not in pages and sources
    assert {f"images/{p.name}" for p in (gallery / "images").iterdir()} == sources
    for src in sources:
        assert hashlib.sha256((gallery / src).read_bytes()).hexdigest() == pathlib.Path(src).stem


def test_task_and_limit_choose_the_pages_and_output_is_deterministic(build, samples, tmp_path):
    task = max({s["task"] for s in samples.values()}, key=lambda t: sum(s["task"] == t for s in samples.values()))
    for run in ("a", "b"):
        assert main(["preview", str(build), "--task", task, "--limit", "2", "--output", str(tmp_path / run)]) == 0
    pages = sorted(p.name for p in (tmp_path / "a").glob("*.html"))
    assert pages == sorted(["index.html", f"{task}.html"])
    chosen = sorted(i for i, s in samples.items() if s["task"] == task)[:2]
    assert re.findall(r'<article id="([^"]+)"', (tmp_path / "a" / f"{task}.html").read_text()) == chosen
    for path in (tmp_path / "a").rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes()


def test_unusable_inputs_fail_with_one_line(build, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for argv in ([str(tmp_path / "missing")], [str(tmp_path / "empty")], [str(build), "--task", "no_such_task"]):
        assert main(["preview", *argv, "--output", str(tmp_path / "p")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("mir: ") and "Traceback" not in err
