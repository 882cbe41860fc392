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
    """One image per object, values far apart so every comparison has a clear winner, boxes of
    sizes far apart (forced_perspective compares how much of its photo each object takes up)."""
    values = rng.sample([0.5, 2, 8, 30, 120, 500, 2000], n)
    sides = rng.sample([0.12, 0.2, 0.3, 0.45, 0.65, 0.9], n)
    return [{"caption": f"A photo of thing {chr(97 + i)}.", "group": "g",
             "regions": [region(f"thing {chr(97 + i)}", _box(rng, side), **{key: v})]}
            for i, (v, side) in enumerate(zip(values, sides))]


def _depth(rng):
    """Besides one object per image, a lamp in every image at depths far apart, as frames of one
    scene taken from different places show it."""
    out = _objects(rng, "depth_m")
    out[0]["regions"].append(region("pebble", _box(rng, 0.1), depth_m=out[0]["regions"][0]["attributes"]["depth_m"] * 3))
    for image, depth in zip(out, rng.sample([0.6, 1.0, 1.6, 2.6, 4.2, 7.0], len(out))):
        image["regions"].append(region("lamp", _box(rng), depth_m=depth))
    return out


def _location(rng):
    """Five images, x and y of their items drawn apart; the first image has a second item, so which
    one its text names is drawn too."""
    xs, ys = (rng.sample([0.05, 0.2, 0.35, 0.5, 0.65], 5) for _ in range(2))
    out = [{"group": "g", "regions": [region(f"item {chr(97 + i)}", [x, y, x + 0.3, y + 0.3])]}
           for i, (x, y) in enumerate(zip(xs, ys))]
    zx, zy = (rng.choice([0.125, 0.275, 0.425, 0.575]) for _ in range(2))   # between the items' places
    out[0]["regions"].append(region("item z", [zx, zy, zx + 0.3, zy + 0.3]))
    return out


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


def _motion_sequence(rng):
    """Frames with a horizontal, a vertical, a diagonal, a nearly horizontal (just diagonal) and a
    still object, so that which-way questions meet every kind of move; some clips have no
    timestamps (their frames are named by place)."""
    sx, sy = rng.choice([-1, 1]), rng.choice([-1, 1])
    timed = rng.random() >= 0.5
    velocities = {"ball": (20 * sx, 0), "kite": (0, 10 * sy), "bee": (-14 * sx, 14 * sy), "leaf": (18 * sy, 8 * sx),
                  "box": (0, 0)}
    starts = {"ball": (0.3, 0.05), "kite": (0.05, 0.4), "bee": (0.4, 0.4), "leaf": (0.5, 0.6), "box": (0.75, 0.1)}
    frames = []
    for k in range(6):
        t = 0.5 * k
        # Boxes 0.22 of the frame: 33 px high, over the 32 px a named box needs.
        regions = [region(f"red {name}", [round(sx0 + vx * t / SIZE[0], 4), round(sy0 + vy * t / SIZE[1], 4),
                                          round(sx0 + vx * t / SIZE[0] + 0.22, 4), round(sy0 + vy * t / SIZE[1] + 0.22, 4)],
                          track_id=name) for name, ((sx0, sy0), (vx, vy)) in
                   ((n, (starts[n], velocities[n])) for n in sorted(velocities))]
        frames.append({"sequence": "s", "order": k, **({"timestamp": t} if timed else {}), "regions": regions})
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
    cats = ["alder", "birch", "cedar"]   # names no other word of the text contains
    out = []
    for k in range(5):
        values = [round(rng.uniform(1, 3), 2) for _ in cats]
        values[k % 3] = 10.0 + k   # category k % 3 tops chart k; "alder" and "birch" top two charts, "cedar" one
        out.append({"group": "c", "data": {"title": f"chart {k}", "columns": ["tree", "v"],
                                           "rows": [[c, v] for c, v in zip(cats, values)]}})
        if k % 2:
            out[-1]["attributes"] = {"chart_type": "bar", "y_label": f"quantity {k} (m)"}
    return out


def _satire(rng):
    things = ["apple", "bridge", "candle", "drum", "engine", "fence", "glove", "harbour", "island", "jacket"]
    return [{"group": "y", "caption": f"Left: the {t} promised. Right: the {t} delivered.", "contrast": f"Irony of the {t}.",
             "attributes": {"layout": "two panels: YES right, BUT left" if k == 2 else "two panels: YES left, BUT right"}}
            for k, t in enumerate(rng.sample(things, 5))]


METADATA = {
    "weight_comparison": lambda rng: _objects(rng, "weight_kg"),
    "forced_perspective": lambda rng: _objects(rng, "real_size_m"),
    "depth_relationship": _depth,
    "location_relationship": _location,
    "speed_comparison": _sequence,
    "motion_detection": _motion_sequence,
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
                            height=facts.height, phash=facts.phash, metadata=dict(metadata, file=path.name),
                            file_size=len(data))
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
    """The object names the text lists "one each and in no particular order", without "the"."""
    listing = re.search(r"show, one each and in no particular order, (.+?)\. <image>", question).group(1)
    return [re.sub(r"^the ", "", n) for n in re.split(r", | and ", listing)]


def _image_of(context, label):
    """The one image whose metadata has a region labelled ``label``, and that region."""
    found = [(i, r) for i, m in enumerate(_meta(context), start=1) for r in m.get("regions", []) if r["label"] == label]
    assert len(found) == 1, (label, found)   # a listed object is findable: one region of its kind in the context
    return found[0]


def _reference(question, stated):
    """(image, label) of the reference: the sentence matching ``stated`` (a regex with a ``label``
    group), the image being the placeholder inside it."""
    # A sentence ends at a full stop that is not a decimal point ("4.2 m").
    for image, sentence in enumerate(re.findall(r"(?:[^.]|\.\d)*<image>(?:[^.]|\.\d)*\.(?!\d)", question), start=1):
        if m := re.fullmatch(stated, sentence.strip()):
            return image, re.sub(r"^(?:the|The) ", "", m.group("label"))
    raise AssertionError(f"no reference in {question}")


def _beyond_stated(key, stated, beyond):
    """The image showing the one listed object that ``beyond(its region, the reference's region)`` accepts."""
    def answer(context, question):
        ref_image, ref_label = _reference(question, stated)
        ref = next(r for r in _meta(context)[ref_image - 1]["regions"] if r["label"] == ref_label)
        assert f"{ref['attributes'][key]:g}" in question   # the reference's value is the one the text states
        found = [_image_of(context, label) for label in _listed(question)]
        meeting = [i for i, r in found if beyond(r, ref)]
        assert len(meeting) == 1, (meeting, question)
        assert ref_image not in [i for i, _ in found]
        return f"Image {meeting[0]}"
    return answer


def _area(r):
    return (r["bbox"][2] - r["bbox"][0]) * (r["bbox"][3] - r["bbox"][1])


def _attr(key):
    return lambda r: r["attributes"][key]


def _same_object(nearest: bool):
    """The image in which the one object several images show is nearest (farthest) by its depths."""
    def answer(context, question):
        name = re.search(r"Of the images that show (?:the )?(.+?), in which is it", question).group(1)
        depths = {i: r["attributes"]["depth_m"] for i, m in enumerate(_meta(context), start=1)
                  for r in m["regions"] if r["label"] == name}
        assert len(depths) >= 3, depths
        return f"Image {(min if nearest else max)(depths, key=depths.get)}"
    return answer


def _within_distance(context, question):
    """The image showing the one listed object less (more) than the stated distance from its camera,
    every listed object at least 1.5 times nearer or farther than that distance."""
    side, limit = re.search(r"only one is (less|more) than ([\d.]+) m from the camera that took its image", question).groups()
    depths = {i: _attr("depth_m")(r) for i, r in (_image_of(context, label) for label in _listed(question))}
    assert all(d >= 1.5 * float(limit) or 1.5 * d <= float(limit) for d in depths.values()), (limit, depths)
    meeting = [i for i, d in depths.items() if (d < float(limit)) == (side == "less")]
    assert len(meeting) == 1, (meeting, question)
    return f"Image {meeting[0]}"


_WEIGHED = r"(?P<label>.+) in <image> weighs [\d.]+ kg\."
_MEASURED = r"(?P<label>.+) in <image> is [\d.]+ m long at its longest\."
_DISTANCE = r"In <image>, (?P<label>.+?) is [\d.]+ m from the camera\."
_COMPARED = r"In <image>, find (?P<label>.+), the object the others are compared with\."


def _centre_px(context, image, box):
    w, h = context.images[image - 1].image.width, context.images[image - 1].image.height
    return ((box[0] + box[2]) / 2 * w, (box[1] + box[3]) / 2 * h)


def _track_move(context, label):
    seen = [(i, r) for i, m in enumerate(_meta(context), start=1) for r in m["regions"] if r["label"] == label]
    (a, first), (b, last) = seen[0], seen[-1]
    (x0, y0), (x1, y1) = _centre_px(context, a, first["bbox"]), _centre_px(context, b, last["bbox"])
    dt = _meta(context)[b - 1]["timestamp"] - _meta(context)[a - 1]["timestamp"]
    return x1 - x0, y1 - y0, dt


def _own_text(question, phrase):
    """The image (1-based) whose own text, right after its placeholder, begins with ``phrase``."""
    return next(k for k, part in enumerate(question.split("<image>")) if k and part.startswith(phrase))


def _view_after_turn(context, question):
    start = _own_text(question, " is the view the camera starts from")
    size, way = re.search(r"circles the object ([\d.]+) degrees,? (clockwise|counterclockwise|half way round)",
                          question).groups()
    turn = -float(size) if way == "clockwise" else float(size)
    az = [m["camera"]["azimuth_deg"] for m in _meta(context)]
    return f"Image {az.index((az[start - 1] + turn) % 360) + 1}"


def _circle_order(context, question):
    start = _own_text(question, " is the view the camera starts from")
    az = [m["camera"]["azimuth_deg"] for m in _meta(context)]
    return ", ".join(str(i) for i in sorted(range(1, len(az) + 1), key=lambda i: (az[i - 1] - az[start - 1]) % 360))


def _turn_to_view(context, question):
    start = _own_text(question, " is the view the camera starts from")
    target = int(re.search(r"to see the object as in Image (\d+)\?", question).group(1))
    az = [m["camera"]["azimuth_deg"] for m in _meta(context)]
    counterclockwise = (az[target - 1] - az[start - 1]) % 360
    if counterclockwise > 180:
        return f"{360 - counterclockwise:g} degrees clockwise"
    return f"{counterclockwise:g} degrees counterclockwise"


def _tables(context):
    return [{str(row[0]): row[1] for row in m["data"]["rows"]} for m in _meta(context)]


def _unique_top(context, question):
    category = re.search(r"'([^']+)' have the highest", question).group(1)
    tops = [max(t, key=t.get) for t in _tables(context)]
    return f"Image {tops.index(category) + 1}"


def _rank_rise(context, question):
    a, b = map(int, re.search(r"higher place in Image (\d+) than in Image (\d+)\?", question).groups())
    tables = _tables(context)
    place = [{c: sorted(t.values(), reverse=True).index(v) for c, v in t.items()} for t in tables]
    rising = [c for c in tables[a - 1] if place[a - 1][c] < place[b - 1][c]]
    assert len(rising) == 1, rising
    return rising[0]


def _largest_ratio(context, question):
    top, base = re.search(r"value for '([^']+)' to the value for '([^']+)'", question).groups()
    ratios = [t[top] / t[base] for t in _tables(context)]
    return f"Image {ratios.index(max(ratios)) + 1}"


def _step_order(context, question):
    orders = [m["order"] for m in _meta(context)]
    return ", ".join(str(orders.index(k) + 1) for k in sorted(orders))


def _marked_image(question, phrase):
    """The image whose own text (right after its placeholder) opens with ``phrase``."""
    after = question.split("<image>")[1:]
    marked = [i for i, text in enumerate(after, start=1) if text.startswith(phrase)]
    assert len(marked) == 1, question
    return marked[0]


def _next_step(context, question):
    orders = [m["order"] for m in _meta(context)]
    current = _marked_image(question, " shows the step the cook has just finished")
    return f"Image {orders.index(sorted(orders)[sorted(orders).index(orders[current - 1]) + 1]) + 1}"


def _image_of_step(context, question):
    number, said = re.search(r'Which image shows step \((\d+)\), "(.*)"\?', question).groups()
    steps = [m["caption"].rstrip(".") for m in _meta(context)]
    image = steps.index(said) + 1
    assert sorted(m["order"] for m in _meta(context)).index(_meta(context)[image - 1]["order"]) + 1 == int(number)
    return f"Image {image}"


def _speed(context, label):
    dx, dy, dt = _track_move(context, label)
    return math.hypot(dx, dy) / dt


# How the text tells its objects apart in one frame, as this test reads it: the words per place
# from the left, the top or the largest, for two and for three objects.
_APART_WORDS = {
    ("where", 0): {2: ["the one further left", "the one further right"],
                   3: ["the leftmost one", "the middle one, left to right", "the rightmost one"]},
    ("where", 1): {2: ["the higher one", "the lower one"],
                   3: ["the highest one", "the middle one, top to bottom", "the lowest one"]},
    ("size", None): {2: ["the larger one", "the smaller one"],
                     3: ["the largest one", "the middle-sized one", "the smallest one"]},
}


def _called(context, question, labels):
    """label -> the words the options use for it: the objects ranked, in the frame the question names,
    along the one way whose words the options use."""
    how, seconds = re.search(r"(where they are in|how much of) the frame taken at ([\d.]+) s", question).groups()
    frame = _frame_at(context, seconds)
    box = {r["label"]: r["bbox"] for r in _meta(context)[frame - 1]["regions"]}
    keys = [("size", None)] if how.startswith("how much") else [("where", 0), ("where", 1)]
    for key in keys:
        words = _APART_WORDS[key][len(labels)]
        if key[0] == "size":
            ranked = sorted(labels, key=lambda label: -_area({"bbox": box[label]}))
        else:
            ranked = sorted(labels, key=lambda label: box[label][key[1]] + box[label][key[1] + 2])
        if all(w in question or w in _OPTIONS for w in words):
            return dict(zip(ranked, words))
    raise AssertionError(question)


_OPTIONS = set()   # the option texts of the draft being checked (set by the test)


def _fastest(context, question):
    labels = sorted({r["label"] for m in _meta(context) for r in m["regions"]})
    return _called(context, question, labels)[max(labels, key=lambda label: _speed(context, label))]


def _frame_at(context, seconds):
    """The image taken at ``seconds`` (as the text writes it)."""
    times = [m["timestamp"] for m in _meta(context)]
    return times.index(float(seconds)) + 1


def _move_between(context, label, a, b):
    """(dx, dy) in pixels of ``label``'s box centre from image ``a`` to image ``b``; None if not in both."""
    boxes = {i: r["bbox"] for i, m in enumerate(_meta(context), start=1) for r in m["regions"] if r["label"] == label}
    if a not in boxes or b not in boxes:
        return None
    (x0, y0), (x1, y1) = _centre_px(context, a, boxes[a]), _centre_px(context, b, boxes[b])
    return x1 - x0, y1 - y0


def _faster_over_intervals(context, question):
    labels = [re.sub(r"^the ", "", n) for n in re.split(r", | and ", re.search(r"The clip follows (.+?); ", question).group(1))]
    called = _called(context, question, labels)
    label_of = {words: label for label, words in called.items()}
    found = re.search(r"Follow (.+?) from the frame taken at ([\d.]+) s to the one taken at ([\d.]+) s, and "
                      r"(.+?) from the frame taken at ([\d.]+) s to the one taken at ([\d.]+) s\.", question).groups()
    speeds = {}
    for words, start, end in (found[:3], found[3:]):
        a, b = _frame_at(context, start), _frame_at(context, end)
        speeds[words] = math.hypot(*_move_between(context, label_of[words], a, b)) / (float(end) - float(start))
    fast, slow = sorted(speeds, key=speeds.get, reverse=True)
    assert speeds[fast] >= 1.3 * speeds[slow]
    return fast


def _compass(dx, dy):
    """A move in eight directions (y grows downwards) or none: diagonal when the move's angle to the
    horizontal lies between asin(0.4) and acos(0.4)."""
    if math.hypot(dx, dy) < 4:
        return "it does not move"
    angle = math.degrees(math.atan2(abs(dy), abs(dx)))
    across, up_down = ("to the right" if dx > 0 else "to the left"), ("down" if dy > 0 else "up")
    if math.degrees(math.asin(0.4)) < angle < math.degrees(math.acos(0.4)):
        return f"{up_down} and {across}"
    return across if angle <= 45 else f"{up_down}wards"


def _named_frames(context, question):
    """The two frames the question names, by time or (clips without timestamps) by place."""
    timed = re.search(r"Between the frame taken at ([\d.]+) s and the frame taken at ([\d.]+) s", question)
    if timed:
        return tuple(_frame_at(context, seconds) for seconds in timed.groups())
    places = ["first", "second", "third", "fourth", "fifth", "sixth"]
    assert "is the third frame." in question   # the text gives each frame its place
    return tuple(places.index(p) + 1 for p in re.search(r"Between the (\w+) frame and the (\w+) frame", question).groups())


def _direction_between_times(context, question):
    label = re.search(r"does the (.+) travel, judging", question).group(1)
    return _compass(*_move_between(context, label, *_named_frames(context, question)))


def _object_moving_between_times(context, question):
    listing, wanted = re.search(r"which of (.+?), told apart by .+?, moves (.+), judging", question).groups()
    labels = [re.sub(r"^the ", "", n) for n in re.split(r", | and ", listing)]
    moves = {label: _move_between(context, label, *_named_frames(context, question)) for label in labels}
    matching = [label for label, move in moves.items() if move is not None and _compass(*move) == wanted]
    assert len(matching) == 1, (wanted, moves)
    return _called_at_first_frame(context, question, labels)[matching[0]]


def _farthest_between_times(context, question):
    listing = re.search(r"which of (.+?), told apart by .+?, covers the most ground", question).group(1)
    labels = [re.sub(r"^the ", "", n) for n in re.split(r", | and ", listing)]
    a, b = _named_frames(context, question)
    distance = {label: math.hypot(*_move_between(context, label, a, b)) for label in labels}
    ranked = sorted(labels, key=distance.get, reverse=True)
    assert distance[ranked[0]] >= 1.5 * distance[ranked[1]], distance
    return _called_at_first_frame(context, question, labels)[ranked[0]]


def _called_at_first_frame(context, question, labels):
    """As ``_called``, for a question that names its frames by time or by place."""
    a, _ = _named_frames(context, question)
    if "taken at" in question:
        return _called(context, question, labels)
    box = {r["label"]: r["bbox"] for r in _meta(context)[a - 1]["regions"]}
    for key in [("where", 0), ("where", 1), ("size", None)]:
        words = _APART_WORDS[key][len(labels)]
        if all(w in _OPTIONS for w in words):
            value = (lambda label: -_area({"bbox": box[label]})) if key[0] == "size" else \
                (lambda label, axis=key[1]: box[label][axis] + box[label][axis + 2])
            return dict(zip(sorted(labels, key=value), words))
    raise AssertionError(question)


def _extreme_location(direction):
    axis, sign = {"leftmost": (0, 1), "rightmost": (0, -1), "highest": (1, 1), "lowest": (1, -1)}[direction]

    def answer(context, question):
        found = _regions_by_label(context)
        best = min(re.findall(r"the (item \w)", question), key=lambda n: sign * sum(found[n][1]["bbox"][axis::2]))
        return f"Image {found[best][0]}"
    return answer


def _relative_position(context, question):
    ref_image, ref_label = _reference(question, _COMPARED)
    vertical, horizontal = re.search(r"sits (higher|lower) and further (left|right) in its own image", question).groups()
    ref = next(r for r in _meta(context)[ref_image - 1]["regions"] if r["label"] == ref_label)

    def centre(r, axis):
        return r["bbox"][axis] + r["bbox"][axis + 2]

    meeting = [i for i, r in (_image_of(context, label) for label in _listed(question))
               if (centre(r, 1) < centre(ref, 1)) == (vertical == "higher")
               and (centre(r, 0) < centre(ref, 0)) == (horizontal == "left")]
    assert len(meeting) == 1, (meeting, question)
    return f"Image {meeting[0]}"


def _image_of_contrast(context, question):
    said = re.search(r'in this way: "(.*)"\?', question).group(1)
    return f"Image {[m['contrast'].rstrip('.') for m in _meta(context)].index(said) + 1}"


def _contrast_of_image(context, question):
    return _meta(context)[int(re.search(r"panels of Image (\d+)", question).group(1)) - 1]["contrast"]


def _transforms(context):
    return [slot.transform for slot in context.images]


def _restore_order(context, question):
    cells = {(t["row"], t["col"]): i for i, t in enumerate(_transforms(context), start=1)}
    place = re.search(r"is the tile from (the [\w-]+ corner|the middle of the \w+ row)\.", question).group(1)
    assert cells[_PLACES[place]] == _marked_image(question, f" is the tile from {place}.")   # placed truly
    return ", ".join(str(cells[key]) for key in sorted(cells))


_PLACES = {"the top-left corner": (0, 0), "the middle of the top row": (0, 1), "the top-right corner": (0, 2),
           "the bottom-left corner": (1, 0), "the middle of the bottom row": (1, 1), "the bottom-right corner": (1, 2)}
_SIDES = {"directly to the right of": (0, 1), "directly to the left of": (0, -1), "directly below": (1, 0),
          "directly above": (-1, 0)}


def _tile_next_to(context, question):
    side, place = re.search(r"Which image belongs (directly (?:to the right of|to the left of|below|above)) the tile "
                            r"from (.+)\?", question).groups()
    anchor = _marked_image(question, f" is the tile from {place}.")
    cells = [(t["row"], t["col"]) for t in _transforms(context)]
    assert cells[anchor - 1] == _PLACES[place]   # the text places the tile truly
    (row, col), (dr, dc) = _PLACES[place], _SIDES[side]
    return f"Image {cells.index((row + dr, col + dc)) + 1}"


def _order_by_zoom(context, question):
    """The crops between the whole photo and the closest crop (both named in the text), least magnified first."""
    zooms = [t["zoom"] for t in _transforms(context)]
    order = sorted(range(1, len(zooms) + 1), key=lambda i: zooms[i - 1])
    assert f"closest crop of the picture, magnified {zooms[order[-1] - 1]:g} times" in question
    return ", ".join(str(i) for i in order[1:-1])


def _zoom_of_view(context, question):
    image = int(re.search(r"By about how much is Image (\d+) magnified", question).group(1))
    return f"about {_transforms(context)[image - 1]['zoom']:g} times"


def _most_blurred(context, question):
    blurs = [t["blur"] for t in _transforms(context)]
    return f"Image {blurs.index(max(blurs)) + 1}"


EXPECTED = {
    "heavier_than_stated": _beyond_stated("weight_kg", _WEIGHED, lambda r, ref: _attr("weight_kg")(r) > _attr("weight_kg")(ref)),
    "lighter_than_stated": _beyond_stated("weight_kg", _WEIGHED, lambda r, ref: _attr("weight_kg")(r) < _attr("weight_kg")(ref)),
    "larger_yet_looks_smaller": _beyond_stated("real_size_m", _MEASURED, lambda r, ref: _attr("real_size_m")(r) > _attr(
        "real_size_m")(ref) and _area(r) < _area(ref)),
    "smaller_yet_looks_larger": _beyond_stated("real_size_m", _MEASURED, lambda r, ref: _attr("real_size_m")(r) < _attr(
        "real_size_m")(ref) and _area(r) > _area(ref)),
    "nearer_than_stated": _beyond_stated("depth_m", _DISTANCE, lambda r, ref: _attr("depth_m")(r) < _attr("depth_m")(ref)),
    "farther_than_stated": _beyond_stated("depth_m", _DISTANCE, lambda r, ref: _attr("depth_m")(r) > _attr("depth_m")(ref)),
    "nearer_than_distance": _within_distance, "farther_than_distance": _within_distance,
    "nearest_same_object": _same_object(True), "farthest_same_object": _same_object(False),
    "view_after_turn": _view_after_turn, "circle_order": _circle_order,
    "turn_to_view": _turn_to_view,
    "unique_top": _unique_top, "rank_rise": _rank_rise, "largest_ratio": _largest_ratio,
    "step_order": _step_order, "next_step": _next_step, "image_of_step": _image_of_step,
    "fastest_object": _fastest, "faster_over_intervals": _faster_over_intervals,
    "direction_between_times": _direction_between_times, "object_moving_between_times": _object_moving_between_times,
    "farthest_between_times": _farthest_between_times,
    "image_of_contrast": _image_of_contrast, "contrast_of_image": _contrast_of_image,
    "restore_order": _restore_order, "tile_next_to": _tile_next_to,
    "order_by_zoom": _order_by_zoom, "most_blurred": _most_blurred, "zoom_of_view": _zoom_of_view,
    **{f"{d}_object": _extreme_location(d) for d in ("leftmost", "rightmost", "highest", "lowest")},
    "relative_position": _relative_position,
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
        _OPTIONS.clear()
        _OPTIONS.update(by_label.values())
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
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?!\w|\.\d)")


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


def test_sample_ids_follow_what_was_written_not_the_code(tmp_path, monkeypatch):
    """Refactored template code that writes the same question keeps the sample's id; a question
    worded otherwise gets a new one."""
    context = _context(tmp_path, "weight_comparison", 0)
    original = TASKS["weight_comparison"].templates[0]

    def refactored(ctx, rng):   # other code, the same question
        question = original(ctx, rng)
        return dataclasses.replace(question) if question else None

    def reworded(ctx, rng):
        question = original(ctx, rng)
        return dataclasses.replace(question, text=question.text.replace("Which image shows it?", "Where is it?"))

    def sample_id(template):
        drafted, images = _draft_with(monkeypatch, "weight_comparison", template, context)
        return assemble_sample(context, drafted, images, sources={"gen": SOURCE}, seed=SEED, embed=False)["id"]

    first = sample_id(original)
    assert sample_id(refactored) == first
    assert sample_id(reworded) != first
