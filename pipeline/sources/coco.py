"""The ``coco`` source: a COCO instances JSON. Each image entry becomes an image whose regions
are its annotations: label = category name, bbox [x, y, w, h] in pixels normalised to
[x0, y0, x1, y1] in 0..1 by the entry's width and height. Crowd annotations (``iscrowd``) are
left out: one box around many objects cannot ground "the <label>".

The images live in the source's ``images`` folder (default: the JSON's folder), listed once.
"""
import json
import posixpath

from apache_beam.io.filesystems import FileSystems

from .folder import list_files
from .sidecar import Listing, metadata_problem

STAGE = "read_sources"


def _box(bbox, width: int, height: int):
    """[x0, y0, x1, y1] in 0..1, clipped to the image, or None when nothing of it is left."""
    x, y, w, h = (float(v) for v in bbox)
    x0, y0 = max(0.0, x / width), max(0.0, y / height)
    x1, y1 = min(1.0, (x + w) / width), min(1.0, (y + h) / height)
    return [round(x0, 6), round(y0, 6), round(x1, 6), round(y1, 6)] if x1 > x0 and y1 > y0 else None


def _regions(image: dict, annotations: list, categories: dict):
    """(regions, problem): a degenerate box or unknown category is a problem, not a silent drop."""
    regions = []
    for ann in sorted(annotations, key=lambda a: a.get("id", 0)):
        if ann.get("iscrowd"):
            continue
        box = _box(ann.get("bbox", (0, 0, 0, 0)), image["width"], image["height"])
        if box is None or ann.get("category_id") not in categories:
            return None, f"annotation {ann.get('id')}: empty box or unknown category"
        regions.append({"id": f"ann{ann['id']}", "label": categories[ann["category_id"]], "bbox": box})
    return regions, None


def _record(image: dict, annotations: list, categories: dict):
    """(source_metadata record, problem) for one COCO image entry."""
    if not all(isinstance(image.get(k), int) and image[k] > 0 for k in ("width", "height")):
        return {"file": image["file_name"]}, "the entry has no positive width and height"
    regions, problem = _regions(image, annotations, categories)
    record = {"file": image["file_name"], "regions": regions or []}
    return record, problem or metadata_problem(record)


def list_coco(source):
    """One ImageRef per image entry of the instances JSON, with its annotations as regions."""
    with FileSystems.open(source.location, compression_type="uncompressed") as f:
        coco = json.loads(f.read())
    root = (source.images or posixpath.dirname(source.location)).rstrip("/")
    files = list_files(root)
    categories = {c["id"]: c["name"] for c in coco.get("categories", [])}
    by_image = {}
    for ann in coco.get("annotations", []):
        by_image.setdefault(ann.get("image_id"), []).append(ann)
    listing = Listing(source, STAGE)
    name = posixpath.basename(source.location)
    for image in coco.get("images", []):
        where = f"{name} image {image.get('id')}"
        if not isinstance(image.get("file_name"), str) or not image["file_name"]:
            yield listing.reject_record("bad_metadata", f"{where}: no file_name", f"{source.location}:{image.get('id')}")
            continue
        uri = FileSystems.join(root, posixpath.normpath(image["file_name"]))
        record, problem = _record(image, by_image.get(image.get("id"), []), categories)
        listing.describe(uri, record, where, problem, exists=uri in files)
    yield from listing.settle()
