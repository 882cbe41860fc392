"""Varied task contexts made straight from generated metadata (no pixels), many per task, for
measuring what the templates' options give away: numbers of images, labels, boxes, values, tracks
and layouts all drawn at random, so that no template meets one fixed arrangement."""
import math
import random
import types

from pipeline.tasks import TASKS
from pipeline.tasks.base import TaskContext

SIZES = ((640, 480), (480, 640), (800, 600), (1024, 768), (500, 500))
NOUNS = ("cat", "dog", "bench", "lamp", "kettle", "bicycle", "tractor", "violin", "anchor", "barrel", "bucket",
         "candle", "drum", "easel", "fence post", "globe", "hammer", "helmet", "ladder", "mailbox", "mug", "oar",
         "parcel", "piano", "pumpkin", "rake", "saddle", "scooter", "sofa", "statue", "suitcase", "teapot",
         "tent", "tyre", "umbrella", "vase", "wagon", "wheelbarrow", "boat", "crate", "bus 42", "gate 7")


def _box(rng, side=None):
    w = side or rng.uniform(0.08, 0.6)
    h = side or rng.uniform(0.08, 0.6)
    x, y = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
    return [round(x, 4), round(y, 4), round(x + w, 4), round(y + h, 4)]


def _region(label, bbox, **attributes):
    return {"id": label.replace(" ", "_"), "label": label, "bbox": bbox, **({"attributes": attributes} if attributes else {})}


def _objects(rng, key=None):
    """4 to 7 images, each with one to three labelled regions; now and then a label repeats in an
    image or across images (such regions must never be named)."""
    labels = rng.sample(NOUNS, 21)
    out = []
    for _ in range(rng.randint(4, 7)):
        found = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            label = rng.choice(labels[:4]) if rng.random() < 0.1 else labels.pop()
            attributes = {key: round(math.exp(rng.uniform(math.log(0.02), math.log(3000))), 2)} if key else {}
            found.append(_region(label, _box(rng), **attributes))
        out.append({"regions": found})
    return out


def _revisited(rng):
    """4 to 7 images of one scene from different places: one to three objects seen in most of them at
    depths drawn anew per image (now and then missing from one), and one object of its own in each."""
    labels = rng.sample(NOUNS, 12)
    shared = labels[:rng.randint(1, 3)]
    out = []
    for _ in range(rng.randint(4, 7)):
        found = [_region(label, _box(rng), depth_m=round(math.exp(rng.uniform(math.log(0.5), math.log(8))), 2))
                 for label in shared if rng.random() < 0.85]
        found.append(_region(labels.pop(), _box(rng), depth_m=round(rng.uniform(0.5, 8), 2)))
        out.append({"regions": found})
    return out


def _tracks(rng, still=False, timed=True):
    frames, dt = rng.randint(5, 8), rng.choice((0.2, 0.4, 0.5, 1.0))
    labels = rng.sample(NOUNS, 3)
    tracks = []
    for label in labels[:rng.choice((2, 3))]:
        speed = 0 if still and rng.random() < 0.2 else rng.uniform(10, 160)
        angle = rng.uniform(0, 2 * math.pi)
        side = rng.uniform(0.08, 0.3)
        tracks.append((label, rng.uniform(0.05, 0.6), rng.uniform(0.05, 0.6), speed * math.cos(angle),
                       speed * math.sin(angle), side))
    width, height = rng.choice(SIZES)
    out = []
    for k in range(frames):
        t = round(k * dt, 2)
        found = []
        for label, x, y, vx, vy, side in tracks:
            x0, y0 = x + vx * t / width, y + vy * t / height
            if 0 <= x0 <= 1 - side and 0 <= y0 <= 1 - side:
                found.append(_region(label, [round(x0, 4), round(y0, 4), round(x0 + side, 4), round(y0 + side, 4)],
                                     track_id=label))
        out.append({"order": k, **({"timestamp": t} if timed else {}), "regions": found})
    return out, (width, height)


def _procedure(rng):
    verbs = rng.sample(("Stir", "Pour", "Chop", "Fold", "Whisk", "Bake", "Slice", "Season", "Plate", "Rinse", "Knead"), 7)
    things = rng.sample(NOUNS, 7)
    steps = [{"order": k, "caption": f"{verbs[k]} the {things[k]}."} for k in range(rng.randint(4, 7))]
    rng.shuffle(steps)
    return steps


def _views(rng):
    azimuths = rng.sample(range(0, 360, 5), rng.randint(4, 7))
    elevation = rng.choice((10, 20, 30))
    return [{"camera": {"azimuth_deg": a, "elevation_deg": elevation}} for a in azimuths]


def _charts(rng):
    categories = rng.sample(("Arnby", "Belcott", "Corrin", "Dunmere", "Elstow", "Farrow", "Glenn", "Hurst"),
                            rng.randint(3, 6))
    return [{"data": {"title": f"Chart of quantity {k}", "columns": ["town", "value"],
                      "rows": [[c, round(math.exp(rng.uniform(0, 5)), 1)] for c in categories]},
             "attributes": {"chart_type": "bar", "y_label": f"quantity {k} (units)"}}
            for k in range(rng.randint(4, 6))]


def _satire(rng):
    things = rng.sample(NOUNS, 6)
    return [{"caption": f"Left: the {t} promised. Right: the {t} delivered.", "contrast": f"The {t} is not what it seems.",
             "attributes": {"layout": rng.choice(("YES left, BUT right", "YES right, BUT left"))}} for t in things]


def _single(rng):
    return [{"caption": "A picture of a street.",
             "regions": [_region(rng.choice(NOUNS), _box(rng)) for _ in range(rng.randint(0, 3))]}]


GENERATORS = {
    "weight_comparison": lambda rng: (_objects(rng, "weight_kg"), None),
    "forced_perspective": lambda rng: (_objects(rng, "real_size_m"), None),
    "depth_relationship": lambda rng: (_objects(rng, "depth_m") if rng.random() < 0.5 else _revisited(rng), None),
    "location_relationship": lambda rng: (_objects(rng), None),
    "speed_comparison": lambda rng: _tracks(rng),
    "motion_detection": lambda rng: _tracks(rng, still=True, timed=rng.random() < 0.7),
    "cooking_process": lambda rng: (_procedure(rng), None),
    "view_3d": lambda rng: (_views(rng), None),
    "chart_analysis": lambda rng: (_charts(rng), None),
    "yes_but_satire": lambda rng: (_satire(rng), None),
    "image_puzzle": lambda rng: (_single(rng), None),
    "scale_blur": lambda rng: (_single(rng), None),
}


def task_context(task_id: str, rng: random.Random) -> TaskContext:
    """One generated context of ``task_id``, as the grounded drafter's templates see it."""
    metadata, size = GENERATORS[task_id](rng)
    size = size or rng.choice(SIZES)
    task = TASKS[task_id]
    if task.grouping != "single":
        return TaskContext(task=task_id, metadata=tuple(metadata), transforms=(None,) * len(metadata),
                           sizes=(size,) * len(metadata))
    image = types.SimpleNamespace(width=size[0], height=size[1], metadata=metadata[0])
    transforms = task.derive(image, rng)
    sizes = tuple(tuple(t["size"]) if "size" in t else
                  (round(size[0] * (t["box"][2] - t["box"][0])), round(size[1] * (t["box"][3] - t["box"][1])))
                  for t in transforms)
    return TaskContext(task=task_id, metadata=(metadata[0],) * len(transforms), transforms=tuple(transforms),
                       sizes=sizes)
