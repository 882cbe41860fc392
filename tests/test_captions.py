"""Captions people write (issue 25, must-have 3): counts and groups from regions, never a repeated
list, no filler for an image nothing describes, no garbled leftovers, repeats said to be repeats."""
import random

import pytest

from conftest import region
from pipeline.tasks import TASKS
from pipeline.tasks.base import TaskContext, caption_of, counted, distinct_captions, plural, question_defaults

BOX = [0.1, 0.1, 0.5, 0.5]


def _regions(*counts) -> dict:
    return {"regions": [region(label, BOX) for label, n in counts for _ in range(n)]}


@pytest.mark.parametrize("counts, expected", [
    ((("cow", 13), ("person", 1)), "Thirteen cows and a person."),
    ((("person", 1), ("cow", 13)), "Thirteen cows and a person."),                 # listed by count, not as given
    ((("fork", 4), ("cup", 3), ("dining table", 1)), "Four forks, three cups and a dining table."),
    ((("cup", 3), ("fork", 3)), "Three cups and three forks."),                      # equal counts: by name
    ((("apple", 1),), "An apple."),
    ((("pedestrian #72", 1), ("pedestrian #60", 1), ("car #3", 1)), "Two pedestrians and a car."),
    ((("person on vehicle", 2), ("Grace Hopper", 1)), "Two people on vehicle and Grace Hopper."),
    ((("cup", 5), ("fork", 4), ("knife", 3), ("wine glass", 2), ("bowl", 1), ("spoon", 1)),
     "Five cups, four forks, three knives, two wine glasses and other objects."),
    ((("cow", 25),), "Twenty-five cows."),
    ((("cow", 40), ("goose", 20)), "Forty cows and twenty geese."),
    ((("cow", 120),), "120 cows."),
])
def test_a_caption_from_regions_counts_each_kind_once(counts, expected):
    assert caption_of(_regions(*counts)) == expected


def test_a_crowd_is_one_group_of_its_own():
    metadata = {"regions": [region("person", BOX, iscrowd=1), region("person", BOX), region("crowd", BOX)]}
    assert caption_of(metadata) == "A crowd, a crowd of people and a person."


def test_the_sidecar_caption_comes_first_and_nothing_gives_no_filler():
    assert caption_of({"caption": "A tabby cat.", **_regions(("cat", 2))}) == "A tabby cat."
    assert caption_of({}, "The start view of the object.") == "The start view of the object."
    assert caption_of({}) == "A picture its source gives no description of."


@pytest.mark.parametrize("noun, expected", [
    ("person", "people"), ("bus", "buses"), ("wine glass", "wine glasses"), ("knife", "knives"),
    ("baby", "babies"), ("toy", "toys"), ("box", "boxes"), ("skis", "skis"), ("sheep", "sheep"), ("mouse", "mice"),
    ("dining table", "dining tables"), ("toothbrush", "toothbrushes"), ("person on vehicle", "people on vehicle"),
])
def test_plurals(noun, expected):
    assert plural(noun) == expected


def test_articles_and_names():
    assert [counted(n, 1) for n in ("apple", "umbrella", "unicycle", "hour glass", "cup", "Grace Hopper")] == \
        ["an apple", "an umbrella", "a unicycle", "an hour glass", "a cup", "Grace Hopper"]
    assert counted("Grace Hopper", 2) == "Grace Hopper"


def test_repeated_captions_are_said_to_be_repeats():
    assert distinct_captions(["Two cups.", "A cat.", "Two cups.", "Two cups."]) == \
        ["Two cups.", "A cat.", "A second picture described the same way: Two cups.",
         "A third picture described the same way: Two cups."]


def _location(images) -> TaskContext:
    return TaskContext(task="location_relationship", metadata=tuple(images), transforms=(None,) * len(images),
                       sizes=((640, 480),) * len(images))


def test_location_captions_read_as_sentences_without_leftovers():
    """Frames of pedestrians with ids, the first two alike: no "(again)", no "#", no list of labels."""
    def frame(ids, item, y):
        return {"regions": [region(f"pedestrian #{k}", [0.05 + 0.15 * n, 0.3, 0.15 + 0.15 * n, 0.9])
                            for n, k in enumerate(ids)] + [region(item, [0.7, y, 0.95, y + 0.3])]}
    ctx = _location([frame((1, 2), "tractor", 0.05), frame((1, 2), "tractor", 0.35), frame((3, 4), "barn", 0.65),
                     frame((5,), "gate", 0.2), frame((6, 7, 8), "dog", 0.4)])
    captions = set()
    for template in TASKS["location_relationship"].templates:
        for seed in range(10):
            question = template(ctx, random.Random(seed))
            if question is not None:
                captions.add(tuple(question.captions))
    assert captions == {("Two pedestrians and a tractor.",
                         "A second picture described the same way: Two pedestrians and a tractor.",
                         "Two pedestrians and a barn.", "A gate and a pedestrian.", "Three pedestrians and a dog.")}


def test_location_captions_of_alike_frames_are_told_apart_honestly():
    images = [{"regions": [region("cow", [0.1, 0.1, 0.3, 0.3]), region("cow", [0.5, 0.5, 0.7, 0.7]),
                           region(name, [x, 0.1, x + 0.2, 0.5])]}
              for name, x in (("tractor", 0.05), ("barn", 0.3), ("gate", 0.75), ("dog", 0.5))]
    question = TASKS["location_relationship"].templates[0](_location(images), random.Random(0))
    assert question.captions == ["Two cows and a tractor.", "Two cows and a barn.", "Two cows and a gate.",
                                 "Two cows and a dog."]
    images = [{"caption": "Two cows in a field.", **m} for m in images]
    question = TASKS["location_relationship"].templates[0](_location(images), random.Random(0))
    assert question.captions == ["Two cows in a field.", "A second picture described the same way: Two cows in a field.",
                                 "A third picture described the same way: Two cows in a field.",
                                 "A fourth picture described the same way: Two cows in a field."]


def test_satire_panels_nothing_describes_get_their_layout():
    images = [{"contrast": f"Point {k}.", "attributes": {"layout": layout}}
              for k, layout in enumerate(("YES left, BUT right", "YES right, BUT left", "YES left, BUT right"))]
    ctx = TaskContext(task="yes_but_satire", metadata=tuple(images), transforms=(None,) * 3, sizes=((640, 480),) * 3)
    question = TASKS["yes_but_satire"].templates[1](ctx, random.Random(0))
    assert question.captions == [
        "A picture of two panels, the YES panel on the left and the BUT panel on the right.",
        "A picture of two panels, the YES panel on the right and the BUT panel on the left.",
        "A second picture described the same way: A picture of two panels, the YES panel on the left and the BUT "
        "panel on the right."]


def _puzzle(metadata):
    task = TASKS["image_puzzle"]
    image = type("Image", (), {"width": 600, "height": 400, "metadata": metadata})
    transforms = task.derive(image, random.Random(0))
    return TaskContext(task="image_puzzle", metadata=(metadata,) * len(transforms), transforms=tuple(transforms),
                       sizes=((200, 200),) * len(transforms), questions=question_defaults())


def test_puzzle_tiles_count_what_repeats_and_name_what_does_not():
    """Tiles 1/3 wide, 1/2 high: the top-left tile holds both small cups whole and the left part of
    the table."""
    metadata = {"regions": [region("cup", [0.05, 0.1, 0.15, 0.2]), region("cup", [0.2, 0.1, 0.3, 0.2]),
                            region("dining table", [0.1, 0.3, 0.9, 0.45])]}
    ctx = _puzzle(metadata)
    top_left = next(i for i, t in enumerate(ctx.transforms) if (t["row"], t["col"]) == (0, 0))
    question = TASKS["image_puzzle"].templates[0](ctx, random.Random(0))
    assert question.captions[top_left].startswith("A tile of the picture showing all of two cups and part of the "
                                                  "dining table")
    assert question.text.startswith("Two cups and a dining table. This picture was cut into six tiles")
    assert _puzzle({})  # nothing describes it: the text opens by saying it was cut
    assert TASKS["image_puzzle"].templates[0](_puzzle({}), random.Random(0)).text.startswith("A picture was cut into")


def test_a_tile_names_each_kind_once_and_at_most_four_kinds():
    """The top-left tile (x 0-1/3, y 0-1/2) holds one oven whole and a third of the other (a rule
    per degree would say "all of an oven and part of an oven"), and whole objects of five more kinds."""
    ovens = [region("oven", [0.02, 0.02, 0.12, 0.12]), region("oven", [0.25, 0.30, 0.40, 0.40])]
    small = [region(label, [0.02 + 0.05 * k, 0.25, 0.06 + 0.05 * k, 0.30])
             for k, label in enumerate(["plate", "spoon", "tray", "vase", "wok"])]
    ctx = _puzzle({"regions": ovens + small})
    top_left = next(i for i, t in enumerate(ctx.transforms) if (t["row"], t["col"]) == (0, 0))
    caption = TASKS["image_puzzle"].templates[0](ctx, random.Random(0)).captions[top_left]
    assert caption.startswith("A tile of the picture showing all of one of two ovens (less of the other), ")
    assert caption.endswith(" and other objects.")
    assert caption.count("oven") == 1 and caption.count(", ") + 1 == 4   # four kinds, then "and other objects"
