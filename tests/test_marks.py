"""Marks: boxes a question points at by colour, drawn onto a derived copy of its image."""
import numpy as np

from pipeline.images.derive import apply_transform, describe_transform, draw_marks

RED = {"box": [0.25, 0.25, 0.75, 0.75], "colour": "red", "rgb": [230, 20, 20]}


def _grey(width=240, height=120):
    return np.full((height, width, 3), 128, dtype=np.uint8)


def test_a_mark_outlines_its_box_in_its_colour_and_leaves_the_rest():
    pixels = _grey()
    out = draw_marks(pixels, [RED])
    # The box runs from x 60 to 180 and y 30 to 90; the line is max(2, 120 / 120) = 2 px thick.
    assert tuple(out[60, 60]) == (230, 20, 20)        # left edge, halfway down
    assert tuple(out[30, 120]) == (230, 20, 20)       # top edge, halfway across
    assert tuple(out[60, 120]) == (128, 128, 128)     # inside the box
    assert tuple(out[5, 5]) == (128, 128, 128)        # far outside it
    assert tuple(pixels[60, 60]) == (128, 128, 128)   # the source array is untouched


def test_the_line_is_edged_in_black_so_it_shows_on_any_ground():
    out = draw_marks(np.full((120, 240, 3), 230, dtype=np.uint8), [RED])
    assert tuple(out[60, 58]) == (0, 0, 0) and tuple(out[60, 62]) == (0, 0, 0)   # either side of the red line


def test_a_greyscale_picture_is_marked_in_colour():
    out = draw_marks(np.full((120, 240), 128, dtype=np.uint8), [RED])
    assert out.shape == (120, 240, 3) and tuple(out[60, 60]) == (230, 20, 20)


def test_a_marked_transform_keeps_the_size_and_says_what_was_drawn():
    blue = {"box": [0.1, 0.2, 0.3, 0.4], "colour": "blue", "rgb": [20, 60, 230]}
    transform = {"marks": [RED, blue]}
    assert apply_transform(_grey(), transform).shape == (120, 240, 3)
    assert describe_transform(transform) == "mark red [0.250,0.250,0.750,0.750] mark blue [0.100,0.200,0.300,0.400]"
