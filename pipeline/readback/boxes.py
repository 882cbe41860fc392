"""How a region's box is written into a training file (``mir export curriculum --boxes``).

- ``text``: plain text, ``the ball in Image 2 [0.100, 0.200, 0.500, 0.600]`` (normalised).
- ``qwen``: Qwen-VL's grounding tokens, ``the <ref>ball</ref><box>(100,200),(500,599)</box> in
  Image 2``. Qwen-VL's README (section "Data preparation" of finetuning) defines
  ``<box>(x1,y1),(x2,y2)</box>`` with ``(x1, y1)`` the top-left and ``(x2, y2)`` the bottom-right
  corner "normalized values in the range [0, 1000)", and ``<ref>text</ref>`` the text the box
  belongs to; its grounding evaluation (eval_mm/evaluate_grounding.py) reads a coordinate back
  as n / 999, so a coordinate v in 0..1 is written as round(v * 999), always inside [0, 1000).
- ``swift``: ms-swift's grounding format (docs "Custom dataset", grounding, option 2): the text
  holds ``<ref-object>`` and ``<bbox>`` placeholders and the record an ``objects`` field, ``ref``
  replacing the ``<ref-object>`` and ``bbox`` the ``<bbox>`` placeholders in order through all
  messages (swift/template/base.py), ``bbox_type`` ``norm1`` ("normalized to the range 0~1"; the
  other value, ``real``, is pixels) and ``image_id`` the 0-based image each box is on (which
  image a template that wants absolute coordinates scales it by). ms-swift then writes each
  model's own grounding tokens and scale.
"""
from ..samples.mir_format import box_text
from ..samples.mir_regions import GRID


def qwen_box(bbox) -> str:
    """A normalised box as Qwen-VL's ``<box>(x1,y1),(x2,y2)</box>`` on its [0, 1000) grid."""
    # Half up, written out: Python's round() halves to even, which no spec says.
    x0, y0, x1, y1 = (int(v * GRID + 0.5) for v in bbox)
    return f"<box>({x0},{y0}),({x1},{y1})</box>"


class TextBoxes:
    """Boxes as plain normalised text."""
    name = "text"
    reserved = ()

    def region(self, ref: dict) -> str:
        return f"the {ref['label']} in Image {ref['image']} {box_text(ref['bbox'])}"

    def fields(self) -> dict:
        return {}


class QwenBoxes(TextBoxes):
    """Boxes as Qwen-VL grounding tokens."""
    name = "qwen"
    reserved = ("<ref>", "</ref>", "<box>", "</box>")

    def region(self, ref: dict) -> str:
        return f"the <ref>{ref['label']}</ref>{qwen_box(ref['bbox'])} in Image {ref['image']}"


class SwiftBoxes(TextBoxes):
    """Boxes as ms-swift placeholders; one instance per record, fed the record's texts in the
    order they are written (user turn, then assistant turn), as ms-swift replaces them."""
    name = "swift"
    reserved = ("<ref-object>", "<bbox>")

    def __init__(self):
        self.refs, self.bboxes, self.image_ids = [], [], []

    def region(self, ref: dict) -> str:
        self.refs.append(ref["label"])
        self.bboxes.append(list(ref["bbox"]))
        self.image_ids.append(ref["image"] - 1)
        return f"the <ref-object><bbox> in Image {ref['image']}"

    def fields(self) -> dict:
        if not self.refs:
            return {}
        return {"objects": {"ref": self.refs, "bbox": self.bboxes, "bbox_type": "norm1", "image_id": self.image_ids}}


STYLES = {"text": TextBoxes, "qwen": QwenBoxes, "swift": SwiftBoxes}
