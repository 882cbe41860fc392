"""Every template of every task, drafted by the grounded drafter from generated metadata and
images, against answers computed here independently from the same metadata."""
import dataclasses
import math
import random
import re

import pytest

from conftest import make_photo, region
from pipeline.drafters.sample import assemble_sample
from pipeline.drafters.base import DraftRejected
from pipeline.drafters import grounded
from pipeline.drafters.grounded import GroundedDrafter
from pipeline.images.phash import hash_image
from pipeline.records import sha256_hex
from pipeline.samples.judge import validate_record
from pipeline.manifest import Source
from pipeline.images.views import materialize
from pipeline.interleaving import is_interleaved
from pipeline.records import content_id, Context, ContextImage, HashedImage
from pipeline.tasks import TASKS
from pipeline.tasks.base import answer_ignores_images, leaks_answer, Question, TaskContext

SEED = 11
SIZE = (200, 150)
SOURCE = Source(name="gen", kind="folder", location="/gen", licence="CC0-1.0", attribution="tests",
                dedup_scope="global", tasks=())
WHOLE = [0.0, 0.0, 1.0, 1.0]


# --- generated metadata, one builder per task --------------------------------------------------

def _box(rng, side=0.25):
    x, y = rng.uniform(0, 1 - side), rng.uniform(0, 1 - side)
    return [round(x, 3), round(y, 3), round(x + side, 3), round(y + side, 3)]


def _objects(rng, key, n=6):
    """One image per object, values far apart so every comparison has a clear winner."""
    values = rng.sample([0.5, 2, 8, 30, 120, 500, 2000], n)
    return [{"caption": f"Object {i}.", "group": "g",
             "regions": [region(f"thing {chr(97 + i)}", _box(rng), **{key: v})]} for i, v in enumerate(values)]


def _depth(rng):
    out = _objects(rng, "depth_m")
    out[0]["regions"].append(region("pebble", _box(rng, 0.1), depth_m=out[0]["regions"][0]["attributes"]["depth_m"] * 3))
    return out


def _location(rng):
    xs = rng.sample([0.05, 0.2, 0.35, 0.5, 0.65], 5)
    return [{"group": "g", "regions": [region(f"item {chr(97 + i)}", [x, x, x + 0.3, x + 0.3])]}
            for i, x in enumerate(xs)]


def _sequence(rng):
    velocities = {"ball": (rng.choice([-20, 20]), 0), "kite": (0, rng.choice([-10, 10]))}
    starts = {"ball": (0.3, 0.1), "kite": (0.1, 0.45)}
    frames = []
    for k in range(6):
        t = 0.5 * k
        regions = [region(f"red {name}", [sx + vx * t / SIZE[0], sy + vy * t / SIZE[1],
                                          sx + vx * t / SIZE[0] + 0.2, sy + vy * t / SIZE[1] + 0.2],
                          track_id=name) for name, ((sx, sy), (vx, vy)) in
                   ((n, (starts[n], velocities[n])) for n in sorted(velocities))]
        frames.append({"sequence": "s", "order": k, "timestamp": t, "regions": regions})
    return frames


def _procedure(rng):
    """Steps with captions only, shown shuffled as the grouping shows them."""
    steps = [{"sequence": "s", "order": k, "caption": f"Step {k}: do {k}."} for k in range(6)]
    rng.shuffle(steps)
    return steps


def _views(rng):
    azimuths = rng.sample(range(0, 360, 30), 6)
    return [{"group": "obj", "camera": {"azimuth_deg": a, "elevation_deg": 20}} for a in azimuths]


def _charts(rng):
    cats = ["a", "b", "c"]
    out = []
    for k in range(5):
        values = [round(rng.uniform(1, 3), 2) for _ in cats]
        values[k % 3] = 10.0 + k   # category k % 3 tops chart k; "a" and "b" top two charts, "c" one
        out.append({"group": "c", "data": {"title": f"chart {k}", "columns": ["cat", "v"],
                                           "rows": [[c, v] for c, v in zip(cats, values)]}})
    return out


def _satire(rng):
    return [{"group": "y", "caption": f"Left: promise {i}. Right: reality {i}.", "contrast": f"Irony number {i}."}
            for i in rng.sample(range(20), 5)]


METADATA = {
    "weight_comparison": lambda rng: _objects(rng, "weight_kg"),
    "forced_perspective": lambda rng: _objects(rng, "real_size_m"),
    "depth_relationship": _depth,
    "location_relationship": _location,
    "speed_comparison": _sequence,
    "motion_detection": _sequence,
    "cooking_process": _procedure,
    "view_3d": _views,
    "chart_analysis": _charts,
    "yes_but_satire": _satire,
    "image_puzzle": lambda rng: [{"caption": "A photo.", "regions": [region("thing", [0.1, 0.1, 0.4, 0.4])]}],
    "scale_blur": lambda rng: [{"caption": "A photo.", "regions": [region("thing", [0.1, 0.1, 0.4, 0.4])]}],
}


def _context(tmp_path, task_id, variant: int) -> Context:
    rng = random.Random(f"{task_id}/{variant}")
    slots = []
    for i, metadata in enumerate(METADATA[task_id](rng)):
        path = make_photo(tmp_path / f"{task_id}_{variant}_{i}.jpg", seed=variant * 100 + i, size=SIZE)
        data = path.read_bytes()
        facts = hash_image(data, max_pixels=10 ** 8, min_side=8)
        image = HashedImage(id=sha256_hex(data), uri=str(path), source="gen", width=facts.width,
                            height=facts.height, phash=facts.phash, metadata=dict(metadata, file=path.name))
        slots.append(image)
    task = TASKS[task_id]
    if task.grouping == "single":
        derived = task.derive(slots[0], random.Random(variant))
        slots = [ContextImage(slots[0], t) for t in derived]
    else:
        slots = [ContextImage(im) for im in slots]
    return Context(id=content_id(task_id, variant), task=task_id, split="train", group="g", images=tuple(slots))


# --- independent answers -----------------------------------------------------------------------

def _meta(context):
    return [slot.image.metadata for slot in context.images]


def _regions_by_label(context):
    return {r["label"]: (i, r) for i, m in enumerate(_meta(context), start=1) for r in m.get("regions", [])}


def _listed(question):
    return re.search(r"one of the following: (.*)\. Which", question).group(1).replace("the ", "").split(", ")


def _extreme_image(key, pick):
    def answer(context, question):
        found = _regions_by_label(context)
        best = pick(_listed(question), key=lambda label: found[label][1]["attributes"][key])
        return f"Image {found[best][0]}"
    return answer


def _centre_px(context, image, box):
    w, h = context.images[image - 1].image.width, context.images[image - 1].image.height
    return ((box[0] + box[2]) / 2 * w, (box[1] + box[3]) / 2 * h)


def _track_move(context, label):
    seen = [(i, r) for i, m in enumerate(_meta(context), start=1) for r in m["regions"] if r["label"] == label]
    (a, first), (b, last) = seen[0], seen[-1]
    (x0, y0), (x1, y1) = _centre_px(context, a, first["bbox"]), _centre_px(context, b, last["bbox"])
    dt = _meta(context)[b - 1]["timestamp"] - _meta(context)[a - 1]["timestamp"]
    return x1 - x0, y1 - y0, dt


def _direction_words(dx, dy):
    if abs(dx) > abs(dy):
        return "to the right" if dx > 0 else "to the left"
    return "downwards" if dy > 0 else "upwards"


def _view_after_turn(context, question):
    start, turn = map(int, re.search(r"viewpoint of Image (\d+), the camera circles the object (\d+)", question).groups())
    az = [m["camera"]["azimuth_deg"] for m in _meta(context)]
    return f"Image {az.index((az[start - 1] + turn) % 360) + 1}"


def _circle_order(context, question):
    start = int(re.search(r"viewpoint of Image (\d+)", question).group(1))
    az = [m["camera"]["azimuth_deg"] for m in _meta(context)]
    return ", ".join(str(i) for i in sorted(range(1, len(az) + 1), key=lambda i: (az[i - 1] - az[start - 1]) % 360))


def _unique_top(context, question):
    category = re.search(r"'(\w+)' have the highest", question).group(1)
    tops = [max(m["data"]["rows"], key=lambda row: row[1])[0] for m in _meta(context)]
    return f"Image {tops.index(category) + 1}"


def _read_value(context, question):
    image, category = re.search(r"Image (\d+), what value is shown for the cat '(\w+)'", question).groups()
    return f"{dict(_meta(context)[int(image) - 1]['data']['rows'])[category]:g}"


def _step_order(context, question):
    orders = [m["order"] for m in _meta(context)]
    return ", ".join(str(orders.index(k) + 1) for k in sorted(orders))


def _next_step(context, question):
    orders = [m["order"] for m in _meta(context)]
    current = int(re.search(r"after the step in Image (\d+)", question).group(1))
    return f"Image {orders.index(sorted(orders)[sorted(orders).index(orders[current - 1]) + 1]) + 1}"


def _speed(context, label):
    dx, dy, dt = _track_move(context, label)
    return math.hypot(dx, dy) / dt


def _fastest(context, question):
    labels = {r["label"] for m in _meta(context) for r in m["regions"]}
    return f"the {max(labels, key=lambda label: _speed(context, label))}"


def _speed_ratio(context, question):
    fast, slow = re.search(r"speed of the (.+) compare with that of the (.+)\?", question).groups()
    ratio = _speed(context, fast) / _speed(context, slow)
    return f"It moves about {min((1.5, 2, 2.5, 3, 4, 5, 6, 8, 10), key=lambda m: abs(math.log(ratio / m))):g} times as fast"


def _direction(context, question):
    label = re.search(r"does the (.+) move across", question).group(1)
    dx, dy, _ = _track_move(context, label)
    return _direction_words(dx, dy)


def _object_moving(context, question):
    wanted = re.search(r"Which object moves (.+) across", question).group(1)
    labels = sorted({r["label"] for m in _meta(context) for r in m["regions"]})
    return next(f"the {label}" for label in labels if _direction_words(*_track_move(context, label)[:2]) == wanted)


def _nearest_within(context, question):
    image = int(re.search(r"Look at Image (\d+)", question).group(1))
    named = re.search(r"camera: (.*)\?", question).group(1).replace("the ", "").split(", ")
    depth = {r["label"]: r["attributes"]["depth_m"] for r in _meta(context)[image - 1]["regions"]}
    return f"the {min(named, key=depth.get)}"


def _extreme_location(direction):
    axis, sign = {"leftmost": (0, 1), "rightmost": (0, -1), "highest": (1, 1), "lowest": (1, -1)}[direction]

    def answer(context, question):
        named = re.findall(r"the (item \w) in Image (\d+)", question)
        best = min(named, key=lambda n: sign * sum(_regions_by_label(context)[n[0]][1]["bbox"][axis::2]))
        return f"the {best[0]} in Image {best[1]}"
    return answer


def _image_of_contrast(context, question):
    said = re.search(r'show this: "(.*)"\?', question).group(1)
    return f"Image {[m['contrast'].rstrip('.') for m in _meta(context)].index(said) + 1}"


def _contrast_of_image(context, question):
    return _meta(context)[int(re.search(r"panels of Image (\d+)", question).group(1)) - 1]["contrast"]


def _transforms(context):
    return [slot.transform for slot in context.images]


def _restore_order(context, question):
    cells = {(t["row"], t["col"]): i for i, t in enumerate(_transforms(context), start=1)}
    return ", ".join(str(cells[key]) for key in sorted(cells))


def _tile_at(context, question):
    row, col = map(int, re.search(r"at row (\d+), column (\d+)", question).groups())
    return f"Image {[(t['row'] + 1, t['col'] + 1) for t in _transforms(context)].index((row, col)) + 1}"


def _order_by_zoom(context, question):
    zooms = [t["zoom"] for t in _transforms(context)]
    return ", ".join(str(i) for i in sorted(range(1, len(zooms) + 1), key=lambda i: zooms[i - 1]))


def _most_blurred(context, question):
    blurs = [t["blur"] for t in _transforms(context)]
    return f"Image {blurs.index(max(blurs)) + 1}"


EXPECTED = {
    "heaviest_object": _extreme_image("weight_kg", max), "lightest_object": _extreme_image("weight_kg", min),
    "largest_in_reality": _extreme_image("real_size_m", max), "smallest_in_reality": _extreme_image("real_size_m", min),
    "nearest_across_images": _extreme_image("depth_m", min), "nearest_within_image": _nearest_within,
    "view_after_turn": _view_after_turn, "circle_order": _circle_order,
    "unique_top": _unique_top, "read_value": _read_value,
    "step_order": _step_order, "next_step": _next_step,
    "fastest_object": _fastest, "speed_ratio": _speed_ratio,
    "direction_of_object": _direction, "object_moving": _object_moving,
    "image_of_contrast": _image_of_contrast, "contrast_of_image": _contrast_of_image,
    "restore_order": _restore_order, "tile_at": _tile_at,
    "order_by_zoom": _order_by_zoom, "most_blurred": _most_blurred,
    **{f"{d}_object": _extreme_location(d) for d in ("leftmost", "rightmost", "highest", "lowest")},
}

TEMPLATES = [(task_id, template) for task_id, task in sorted(TASKS.items()) for template in task.templates]


def _draft_with(monkeypatch, task_id, template, context):
    """The grounded drafter with the task's templates narrowed to ``template``."""
    monkeypatch.setitem(grounded.TASKS, task_id, dataclasses.replace(TASKS[task_id], templates=(template,)))
    drafter = GroundedDrafter(seed=SEED)
    drafter.setup()
    images = materialize(context, max_pixels=10 ** 8, min_side=8)
    return drafter.draft(context, images), images


def _boxes_allowed(context, entry) -> bool:
    """A Text2Region box lies on the region its label names, or (for images without regions:
    charts, views, panels, tiles, zooms) on the whole image, a panel or a derivation's crop box."""
    slot = context.images[entry["image"] - 1]
    named = [r["bbox"] for r in slot.image.metadata.get("regions", []) if r["label"] == entry["label"]]
    if slot.image.metadata.get("regions") and slot.transform is None:
        return entry["bbox"] in named
    crops = [s.transform["box"] for s in context.images if s.transform]
    return entry["bbox"] in [WHOLE, [0.0, 0.0, 0.5, 1.0], [0.5, 0.0, 1.0, 1.0]] + crops


@pytest.mark.parametrize("task_id,template", TEMPLATES, ids=[f"{t}:{f.__name__}" for t, f in TEMPLATES])
def test_template_answer_matches_metadata(tmp_path, monkeypatch, task_id, template):
    drafted_any = 0
    for variant in range(3):
        context = _context(tmp_path, task_id, variant)
        try:
            drafted, images = _draft_with(monkeypatch, task_id, template, context)
        except DraftRejected:
            continue
        drafted_any += 1
        draft = drafted.draft
        by_label = {o["label"]: o["text"] for o in draft["options"]}
        assert by_label[draft["answer"]] == EXPECTED[drafted.template](context, draft["question"])
        texts = [o["text"] for o in draft["options"]]
        assert len(texts) >= 2 and len(set(texts)) == len(texts)
        assert draft["question"].count("<image>") == len(images) == len(draft["reasoning"]["captions"])
        assert draft["reasoning"]["text2region"] and draft["reasoning"]["region2region"]
        assert all(_boxes_allowed(context, e) for e in draft["reasoning"]["text2region"])
        assert_interleaved_and_visible(draft)
        sample = assemble_sample(context, drafted, images, sources={"gen": SOURCE}, seed=SEED, embed=True)
        assert validate_record(sample) == []
        assert sample["ground_truth"]["verified"] is True
    assert drafted_any >= 1, f"{task_id}:{template.__name__} drafted nothing from three generated contexts"


_IMAGE_LABEL = re.compile(r"\b(?:Image|image|Images|images) \d+(?:(?:, | and | or )\d+)*")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")


def hidden_numbers(draft) -> set:
    """Numbers the five steps cite that neither the question's text nor an option states (image
    numbers aside): facts a model could not see."""
    reasoning = draft["reasoning"]
    steps = " ".join([reasoning["summary"], *reasoning["captions"], reasoning["conclusion"].rsplit("Answer:", 1)[0],
                      *(e["text"] for e in reasoning["text2region"]),
                      *(f"{e['relation']} {e['explanation']}" for e in reasoning["region2region"])])
    stated = " ".join([draft["question"], *(o["text"] for o in draft["options"])])
    cited = set(_NUMBER.findall(_IMAGE_LABEL.sub(" ", steps)))
    return cited - set(_NUMBER.findall(stated))


def assert_interleaved_and_visible(draft):
    """MIR's defining traits, for every template: the text interleaves the images with facts of
    their own, the grounding reaches two or more images, the steps cite nothing the text does not
    state, and captions differ and do not single out the answer."""
    question, reasoning = draft["question"], draft["reasoning"]
    assert is_interleaved(question), question
    assert len({e["image"] for e in reasoning["text2region"]}) >= 2, reasoning["text2region"]
    assert hidden_numbers(draft) == set(), (hidden_numbers(draft), reasoning)
    captions = reasoning["captions"]
    assert len(set(captions)) == len(captions), captions
    answer = next(o["text"] for o in draft["options"] if o["label"] == draft["answer"]).lower()
    others = [o["text"].lower() for o in draft["options"] if o["label"] != draft["answer"]]
    for caption in captions:
        assert answer not in caption.lower() or all(o in caption.lower() for o in others), (caption, answer)


def test_hidden_numbers_are_the_ones_the_text_does_not_state():
    draft = {"question": "<image> was taken at 0.5 s. <image> follows 1 s later. Which is faster?",
             "options": [{"label": "A", "text": "the car"}, {"label": "B", "text": "2 times"}],
             "reasoning": {"summary": "Image 2 is 1 s after Image 1.", "captions": ["A car.", "A car, later."],
                           "text2region": [{"text": "the car", "image": 1}],
                           "region2region": [{"relation": "moves 40 px", "explanation": "depth 1.4 vs 2 m"}],
                           "conclusion": "It moved 2 times as far in 0.5 s. Answer: A"}}
    assert hidden_numbers(draft) == {"40", "1.4"}


def test_every_task_has_two_templates():
    assert len(TASKS) == 12
    assert all(len(task.templates) >= 2 for task in TASKS.values())


# --- fairness checks -------------------------------------------------------------------------

def _question(answer, distractors, text="Image 1: <image> Which?", drawn=1):
    return Question(template="t", text=text, answer=answer, distractors=distractors, summary="", captions=[""],
                    text2region=[{"text": "x", "image": drawn, "bbox": WHOLE, "label": "x"}], region2region=[],
                    rationale="", verified_by="test")


def test_answer_fixed_across_draws_is_refused():
    ctx = TaskContext(task="weight_comparison", metadata=({},) * 4, transforms=(None,) * 4, sizes=((1, 1),) * 4)

    def always_motorcycle(ctx, rng):
        return _question("the motorcycle", ["the cup", "the cat"], drawn=rng.randrange(1, 5))

    def depends_on_draw(ctx, rng):
        image = rng.randrange(1, 5)
        return _question(f"Image {image}", ["Image 9"], drawn=image)

    rngs = [random.Random(i) for i in range(6)]
    assert answer_ignores_images(always_motorcycle, ctx, rngs)
    assert not answer_ignores_images(depends_on_draw, ctx, rngs)


def test_drafter_rejects_a_template_whose_answer_ignores_the_images(tmp_path, monkeypatch):
    def always_motorcycle(ctx, rng):
        return _question("the motorcycle", ["the cup", "the cat"], text=" ".join(["Image: <image>"] * len(ctx)),
                         drawn=rng.randrange(1, len(ctx) + 1))

    context = _context(tmp_path, "weight_comparison", 0)
    with pytest.raises(DraftRejected) as raised:
        _draft_with(monkeypatch, "weight_comparison", always_motorcycle, context)
    assert raised.value.reason == "no_grounded_question" and "answer_ignores_images" in str(raised.value)


def test_answer_in_question_text_is_a_leak():
    assert leaks_answer(_question("the cup", ["the cat"], text="Image 1: <image> Is it the cup?"))
    assert not leaks_answer(_question("the cup", ["the cat"], text="Image 1: <image> The cup or the cat?"))


# --- the bundled collection --------------------------------------------------------------------

def test_examples_build_fills_every_task(tmp_path):
    """A manifest with one folder source per examples/ subfolder builds samples for every task,
    about six images each."""
    import json
    import pathlib

    from pipeline.run import run_build

    examples = pathlib.Path(__file__).resolve().parent.parent / "examples"
    folders = sorted(p.parent for p in examples.glob("*/metadata.jsonl"))
    if not folders:
        pytest.skip("examples/ has no sidecars yet")
    alike = {"sequences", "procedures", "views"}   # frames that look alike must all stay
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("name: examples\nseed: 1234\nsources:\n" + "".join(
        f"  - {{name: {f.name}, kind: folder, location: {f}, licence: see SOURCE.md, attribution: see SOURCE.md, "
        f"dedup_scope: '{'off' if f.name in alike else 'within_source'}'}}\n" for f in folders))
    run_build(str(manifest), str(tmp_path / "out"), [])
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert set(report["samples"]["by_task"]) == set(TASKS)
    assert 5 <= report["samples"]["mean_images"] <= 7
