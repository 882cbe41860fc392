"""The ``coco`` source: a COCO instances JSON. Each image entry becomes an image whose regions
are its annotations: label = category name, bbox [x, y, w, h] in pixels normalised to
[x0, y0, x1, y1] in 0..1 by the entry's width and height. Crowd annotations (``iscrowd``) are
left out: one box around many objects cannot ground "the <label>".

The images live in the source's ``images`` folder (default: the JSON's folder), listed once; a
``file_name`` must lead to a file inside it. When none of the files the JSON names is there, the
source is unusable (``images_not_found``: the build stops, naming the ``images`` key); when some
are missing, each is ``missing_file`` and one ``some_images_not_found`` record (a warning of
``mir build``) says how many, naming the key too. An image entry or one of its annotations holding a
repeated key, NaN, an infinity or a box that is not four numbers rejects the image as
``bad_metadata``; a JSON file that is not an object of lists of objects is ``unreadable_source``.
"""
import posixpath

from ..storage import read_bytes
from .files import find_files
from .metadata import metadata_problem, parse_json, repeated_keys, value_problem
from .paths import Root, SourceUnusable, check_file
from .sidecar import Listing, check_metadata_size

STAGE = "read_sources"
_LISTS = ("images", "annotations", "categories")


def _key(value):
    """An id as a dict key: ints and strings as they are, anything else (unhashable lists, ...)
    as its text, so a malformed id matches nothing instead of failing the whole file."""
    return value if isinstance(value, (int, str)) else repr(value)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _order(annotation):
    """Annotations in id order (numbers first, then any malformed id by its text)."""
    ann_id = annotation.get("id")
    return (0, ann_id, "") if _number(ann_id) else (1, 0, str(ann_id))


def _box(bbox, width: int, height: int):
    """[x0, y0, x1, y1] in 0..1, clipped to the image, or None when nothing of it is left."""
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_number(v) for v in bbox)):
        return None
    x, y, w, h = (float(v) for v in bbox)
    x0, y0 = max(0.0, x / width), max(0.0, y / height)
    x1, y1 = min(1.0, (x + w) / width), min(1.0, (y + h) / height)
    return [round(x0, 6), round(y0, 6), round(x1, 6), round(y1, 6)] if x1 > x0 and y1 > y0 else None


def _regions(image: dict, annotations: list, categories: dict):
    """(regions, problem): a degenerate box or unknown category is a problem, not a silent drop."""
    problem = next((f"annotation {a.get('id')!r}: {p}" for a in annotations for p in [value_problem(a)] if p), None)
    if problem:
        return None, problem
    regions = []
    for ann in sorted(annotations, key=_order):
        if ann.get("iscrowd"):
            continue
        box = _box(ann.get("bbox"), image["width"], image["height"])
        label = categories.get(_key(ann.get("category_id")))
        if box is None or label is None:
            return None, f"annotation {ann.get('id')!r}: empty box or unknown category"
        regions.append({"id": f"ann{ann.get('id')}", "label": label, "bbox": box})
    return regions, None


def _record(image: dict, annotations: list, categories: dict):
    """(source_metadata record, problem) for one COCO image entry."""
    record = {"file": image["file_name"]}
    problem = value_problem(image)
    if not problem and not all(isinstance(image.get(k), int) and image[k] > 0 for k in ("width", "height")):
        problem = "the entry has no positive width and height"
    if problem:
        return record, problem
    regions, problem = _regions(image, annotations, categories)
    record.update(width=image["width"], height=image["height"], regions=regions or [])
    return record, problem or metadata_problem(record)


def _shape_problem(coco):
    """Why ``coco`` is not an object whose three lists hold objects (with clean categories)."""
    if not isinstance(coco, dict):
        return "not a JSON object"
    if repeated_keys(coco):
        return f"key {repeated_keys(coco)[0]!r} appears more than once"
    for key in _LISTS:
        entries = coco.get(key, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            return f"{key} is not a list of objects"
    return value_problem({"categories": coco.get("categories", [])})


def _read(location: str) -> dict:
    check_file(location)
    check_metadata_size(location)
    coco, problem = parse_json(read_bytes(location).decode("utf-8", "surrogateescape"))
    problem = problem or _shape_problem(coco)
    if problem:
        raise SourceUnusable("unreadable_source", f"{location}: {problem}")
    return coco


def _named(coco: dict, root: Root) -> set:
    """The uris of the files the image entries name, inside ``root``."""
    return {uri for image in coco.get("images", []) if isinstance(image.get("file_name"), str) and image["file_name"]
            for uri, refusal in [root.resolve(image["file_name"])] if not refusal}


def _not_found(source, root: Root, missing: int, named: int) -> str:
    """One line saying how many named files are not where the source looked, and which key to set."""
    return (f"{missing} of {named} files named by {posixpath.basename(source.location)} are "
            f"not in {root.location} — set `images:` to the folder holding them")


def list_coco(source):
    """One ImageRef per image entry of the instances JSON, with its annotations as regions."""
    coco = _read(source.location)
    root = Root(source.images or posixpath.dirname(source.location))
    files = find_files(root.location).files
    named = _named(coco, root)
    missing = len(named - files)
    if named and missing == len(named):
        raise SourceUnusable("images_not_found", _not_found(source, root, missing, len(named)))
    categories = {_key(c.get("id")): c.get("name") for c in coco.get("categories", [])}
    by_image = {}
    for ann in coco.get("annotations", []):
        by_image.setdefault(_key(ann.get("image_id")), []).append(ann)
    listing = Listing(source, STAGE)
    if missing:
        # Worded as ListSource words an unusable source's record, which names the source first.
        yield listing.reject_record("some_images_not_found",
                                    f"source {source.name!r}: {_not_found(source, root, missing, len(named))}",
                                    source.location)
    name = posixpath.basename(source.location)
    for image in coco.get("images", []):
        where = f"{name} image {image.get('id')!r}"
        if not isinstance(image.get("file_name"), str) or not image["file_name"]:
            yield listing.reject_record("bad_metadata", f"{where}: no file_name", f"{source.location}:{image.get('id')!r}")
            continue
        record, problem = _record(image, by_image.get(_key(image.get("id")), []), categories)
        listing.describe_path(root, image["file_name"], record, where, problem, exists=files.__contains__)
    yield from listing.settle()
