"""Files an image's metadata names besides the image itself, read at ingest into the metadata the
tasks read: a depth map (``depth_map``, read in its ``encoding``) gives its regions ``depth_m``; a CSV table
(``data_file``) becomes the chart's ``data``. Their paths resolve like ``file`` (relative to the
sidecar's or listing's folder, confined to it), and any problem rejects the image with a reason.
"""
from apache_beam.io.filesystems import FileSystems
from PIL import Image

from ..storage import read_bytes
from .chart_tables import ChartTableProblem, read_chart_table
from .depth import MIN_VALID_SHARE, DepthMapProblem, encoding_of, in_metres, read_stored, with_depths
from .metadata import metadata_problem


def _spec(value) -> dict:
    """A ``depth_map`` or ``data_file`` value as its object form ({"file": ...} for a bare path)."""
    return {"file": value} if isinstance(value, str) else value


def _named_file(root, key: str, name: str):
    """(uri, None) for a file the metadata names, or (None, (reason, detail)) when the source may not
    read it or it does not exist."""
    uri, refusal = root.resolve(name)
    if refusal:
        return None, (refusal[0], f"{key}: {refusal[1]}")
    if not FileSystems.exists(uri):
        return None, ("missing_file", f"{key} names {name!r}, which does not exist")
    return uri, None


def _image_size(uri: str):
    """(width, height) of the image as stored, from its header; None when it cannot be read
    (DecodeAndHash then rejects the image itself, saying why)."""
    try:
        with FileSystems.open(uri, compression_type="uncompressed") as f, Image.open(f) as image:
            return image.size
    except Exception:  # Pillow and the filesystems raise many types; the image's own reject says which
        return None


def _with_depth(record: dict, root, image_uri: str):
    spec = _spec(record["depth_map"])
    uri, problem = _named_file(root, "depth_map", spec["file"])
    if problem:
        return record, problem
    size = _image_size(image_uri)
    if size is None:
        return record, None
    try:
        stored = read_stored(read_bytes(uri), uri, size)
        encoding = encoding_of(stored, spec.get("encoding"), spec.get("scale"))
        measured = with_depths(record, in_metres(stored, encoding), spec.get("min_valid_share", MIN_VALID_SHARE),
                               encoding)
    except DepthMapProblem as exc:
        return record, (exc.reason, f"depth_map {spec['file']!r}: {exc}")
    return measured, None


def _unit_label(column: str, unit: str) -> str:
    """The value column's name with its unit, unless the name already gives it."""
    return column if unit in column else f"{column} ({unit})"


def _with_table(record: dict, root):
    if "data" in record:
        return record, ("bad_metadata", "the line gives both data and data_file: give one")
    spec = _spec(record["data_file"])
    uri, problem = _named_file(root, "data_file", spec["file"])
    if problem:
        return record, problem
    try:
        table = read_chart_table(read_bytes(uri))
    except ChartTableProblem as exc:
        return record, ("bad_chart_table", f"data_file {spec['file']!r}: {exc}")
    if spec.get("title"):
        table["title"] = spec["title"]
    record = dict(record, data=table)
    attributes = record.get("attributes", {})
    if spec.get("unit") and "y_label" not in attributes:
        record["attributes"] = dict(attributes, y_label=_unit_label(table["columns"][1], spec["unit"]))
    problem = metadata_problem(record)
    return record, ("bad_chart_table", f"data_file {spec['file']!r}: {problem}") if problem else None


def named_files(record: dict, root) -> set:
    """The uris of the files ``record`` names besides its image (annotations, not images: a folder
    source does not list them)."""
    names = [_spec(record[key]).get("file") for key in ("depth_map", "data_file")
             if isinstance(record.get(key), (str, dict))]
    return {root.resolve(name)[0] for name in names if isinstance(name, str)}


def attach_files(record: dict, root, image_uri: str):
    """(record with what its depth map and table give, None) or (record, (reason, detail)) when a
    named file cannot be used; ``root`` (a paths.Root) resolves the names."""
    problem = None
    if "depth_map" in record:
        record, problem = _with_depth(record, root, image_uri)
    if "data_file" in record and not problem:
        record, problem = _with_table(record, root)
    return record, problem
