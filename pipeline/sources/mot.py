"""The ``mot`` source: tracking sequences in the MOTChallenge layout (MOT15/16/17/20, and the many
sets shipped the same way), read as they are.

A sequence is a folder holding ``seqinfo.ini`` (``[Sequence]``: name, imDir, frameRate,
seqLength, imWidth, imHeight, imExt), its frames ``<imDir>/000001<imExt>`` (1-based frame
numbers) and, for training sequences, ``gt/gt.txt``: one box per line,
``frame, id, bb_left, bb_top, bb_width, bb_height, conf, class, visibility`` in pixels. The
source's location is one sequence or any folder holding sequences.

Every file of a sequence's image folder is listed (of the frames, with ``frame_step`` k, only
frames 1, 1 + k, 1 + 2k, ...): frame n becomes an image of the sequence with
``order`` n - 1 and ``timestamp`` (n - 1) / frameRate seconds, as video frames are; its boxes become
regions with a ``track_id``. Left out, by the format's own rules: boxes whose ``conf`` is 0 (the
ground truth's "ignore" flag), classes the label table maps to None (distractors, occluders,
reflections, crowds), and boxes less visible than the source's ``min_visibility``. Labels are the
class's name alone ("pedestrian"): a track id is no fact a viewer can see, so it stays in the region's
``track_id`` attribute (and id), where the tasks follow tracks, and never reaches a question's text.
A line that cannot be read rejects its frame (``bad_metadata``, with the line), or alone when it
names no frame; a frame the ground truth names that is missing from the image folder is
``missing_file``.
"""
import configparser
import math
import posixpath

from apache_beam.io.filesystems import FileSystems

from ..storage import read_bytes
from .files import find_files
from .metadata import metadata_problem
from .paths import Root, SourceUnusable, printable
from .sidecar import Listing, check_metadata_size

STAGE = "read_sources"
SEQINFO = "seqinfo.ini"
GROUND_TRUTH = "gt/gt.txt"
_NOT_TARGETS = {8: None, 9: None, 10: None, 11: None, 12: None}   # distractor, occluders, reflection
CLASS_TABLES = {
    "mot17": {1: "pedestrian", 2: "person on vehicle", 3: "car", 4: "bicycle", 5: "motorbike",
              6: "non-motorized vehicle", 7: "static person", **_NOT_TARGETS},
    "mot20": {1: "pedestrian", 2: "person on vehicle", 3: "car", 4: "bicycle", 5: "motorbike",
              6: "non-motorized vehicle", 7: "static person", **_NOT_TARGETS, 13: None},   # 13: crowd
    "mot15": {},   # no class column: every box is a pedestrian
}
MOT15_LABEL = "pedestrian"


class BadRow(ValueError):
    """A gt.txt line that cannot be read; ``frame`` is its frame number when that much is readable."""

    def __init__(self, detail: str, frame=None):
        super().__init__(detail)
        self.frame = frame


class Sequence:
    """One sequence's seqinfo.ini, read and checked."""

    def __init__(self, folder: str, text: str):
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text)
            info = parser["Sequence"]
            self.name = info.get("name", posixpath.basename(folder)).strip() or posixpath.basename(folder)
            self.image_folder = info.get("imDir", "img1").strip()
            self.extension = info.get("imExt", ".jpg").strip()
            self.frame_rate = float(info["frameRate"])
            self.width, self.height = int(info["imWidth"]), int(info["imHeight"])
        except (configparser.Error, KeyError, ValueError) as exc:
            raise ValueError(f"{SEQINFO}: {exc.__class__.__name__}: {exc}".replace("\n", " ")) from None
        if not (math.isfinite(self.frame_rate) and self.frame_rate > 0 and self.width > 0 and self.height > 0):
            raise ValueError(f"{SEQINFO}: frameRate, imWidth and imHeight must be positive")
        if not self.image_folder:
            raise ValueError(f"{SEQINFO}: imDir is empty")

    def frame_name(self, frame: int) -> str:
        return f"{frame:06d}{self.extension}"

    def seconds(self, frame: int) -> float:
        return round((frame - 1) / self.frame_rate, 6)


def _integer(text: str, what: str, frame=None) -> int:
    try:
        value = float(text)
    except ValueError:
        raise BadRow(f"{what} {text.strip()!r} is not a number", frame) from None
    if not (math.isfinite(value) and value == int(value)):
        raise BadRow(f"{what} {text.strip()!r} is not a whole number", frame)
    return int(value)


def _number(text: str, what: str, frame: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BadRow(f"{what} {text.strip()!r} is not a number", frame) from None
    if not math.isfinite(value):
        raise BadRow(f"{what} is {value}, not a finite number", frame)
    return value


def parse_row(line: str, classes: str) -> dict:
    """One gt.txt line as {frame, track, box (left, top, width, height), conf, class, visibility};
    BadRow when it cannot be read."""
    cells = line.strip().split(",")
    needed = 7 if classes == "mot15" else 9
    if not cells[0].strip():
        raise BadRow("no frame number")
    frame = _integer(cells[0], "frame", None)
    if frame < 1:
        raise BadRow(f"frame {frame}: frames are numbered from 1")
    if len(cells) < needed:
        raise BadRow(f"{len(cells)} values, the format has {needed}", frame)
    track = _integer(cells[1], "id", frame)
    box = [_number(cells[k], name, frame) for k, name in zip(range(2, 6), ("bb_left", "bb_top", "bb_width", "bb_height"))]
    if box[2] <= 0 or box[3] <= 0:
        raise BadRow(f"box {box[2]:g}x{box[3]:g} has no area", frame)
    row = {"frame": frame, "track": track, "box": box, "conf": _number(cells[6], "conf", frame),
           "class": None, "visibility": None}
    if classes != "mot15":
        row["class"] = _integer(cells[7], "class", frame)
        row["visibility"] = _number(cells[8], "visibility", frame)
        if not 0 <= row["visibility"] <= 1:
            raise BadRow(f"visibility {row['visibility']:g} is not a ratio in 0..1", frame)
    return row


def _normalised(box, width: int, height: int):
    """[x0, y0, x1, y1] in 0..1, clipped to the frame; None when nothing of the box is inside it."""
    left, top, w, h = box
    x0, y0 = max(0.0, left / width), max(0.0, top / height)
    x1, y1 = min(1.0, (left + w) / width), min(1.0, (top + h) / height)
    return [round(x0, 6), round(y0, 6), round(x1, 6), round(y1, 6)] if x1 > x0 and y1 > y0 else None


class Labels:
    """Class id -> label (None: left out): the benchmark's table with the source's overrides."""

    def __init__(self, source):
        self.mot15 = source.classes == "mot15"
        self.table = {**CLASS_TABLES[source.classes], **dict(source.labels)}

    def of(self, class_id):
        """(label or None, problem or None)."""
        if self.mot15:
            return self.table.get(-1, MOT15_LABEL), None
        if class_id not in self.table:
            return None, f"class {class_id} is not in the class table (give it a label in the source's labels)"
        return self.table[class_id], None


def _region(row: dict, label: str, sequence: Sequence):
    box = _normalised(row["box"], sequence.width, sequence.height)
    if box is None:
        return None
    attributes = {"track_id": str(row["track"])}
    if row["visibility"] is not None:
        attributes["visibility"] = row["visibility"]
    return {"id": f"track{row['track']}", "label": label, "bbox": box, "attributes": attributes}


class GroundTruth:
    """The boxes of one sequence's gt.txt kept as regions, per frame, and the first problem of each
    frame whose lines cannot all be read."""

    def __init__(self, source, sequence: Sequence):
        self.source, self.sequence, self.labels = source, sequence, Labels(source)
        self.regions, self.problems, self.lines, self.unplaced = {}, {}, {}, []

    def read(self, text: str, name: str):
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                self._add(number, line, f"{name} line {number}")

    def _add(self, number: int, line: str, where: str):
        try:
            row = parse_row(line, self.source.classes)
            label, problem = self.labels.of(row["class"])
            if problem:
                raise BadRow(problem, row["frame"])
        except BadRow as exc:
            if exc.frame is None:
                self.unplaced.append((number, f"{where}: {exc}"))
            else:
                self.problems.setdefault(exc.frame, f"{where}: {exc}")
                self.lines.setdefault(exc.frame, where)
            return
        frame = row["frame"]
        self.lines.setdefault(frame, where)
        seen = self.regions.setdefault(frame, {})
        if row["track"] in seen:
            self.problems.setdefault(frame, f"{where}: track {row['track']} appears twice in frame {frame}")
        else:  # a left-out box still counts for the repeat check
            seen[row["track"]] = _region(row, label, self.sequence) if self._kept(row, label) else None

    def _kept(self, row: dict, label) -> bool:
        """The format's ignore flag, the label table and the visibility threshold."""
        visible = row["visibility"] is None or row["visibility"] >= self.source.min_visibility
        return row["conf"] != 0 and label is not None and visible

    def regions_of(self, frame: int) -> list:
        return [r for _, r in sorted(self.regions.get(frame, {}).items()) if r is not None]


def _frames(sequence: Sequence, files: list) -> dict:
    """Frame number -> uri of the image folder's files named by a frame number (the format's
    zero-padded name wins over another spelling of the same number)."""
    frames = {}
    for uri in sorted(files):
        stem, extension = posixpath.splitext(posixpath.basename(uri))
        if stem.isdigit() and extension.lower() == sequence.extension.lower() and int(stem) >= 1:
            canonical = posixpath.basename(uri) == sequence.frame_name(int(stem))
            if canonical or int(stem) not in frames:
                frames[int(stem)] = uri
    return frames


class SequenceListing:
    """One sequence folder, settled into its Listing."""

    def __init__(self, source, listing: Listing, found, folder: str):
        self.source, self.listing, self.found, self.folder = source, listing, found, folder
        self.relative = posixpath.relpath(folder, source.location.rstrip("/"))

    def _name(self, uri: str) -> str:
        return posixpath.normpath(posixpath.join(self.relative, posixpath.relpath(uri, self.folder)))

    def _under(self, folder: str) -> list:
        return [uri for uri in self.found.files if uri.startswith(folder.rstrip("/") + "/")]

    def list(self):
        """Describe every file of the image folder; yields rejects of lines that name no frame."""
        seqinfo = FileSystems.join(self.folder, SEQINFO)
        check_metadata_size(seqinfo)
        try:
            sequence = Sequence(self.folder, read_bytes(seqinfo).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            for uri in self._under(FileSystems.join(self.folder, "img1")):
                self.listing.describe(uri, {"file": self._name(uri)}, self._name(seqinfo), problem=str(exc))
            return
        images_uri, refusal = Root(self.folder).resolve(sequence.image_folder)
        if refusal:
            yield self.listing.reject_record(refusal[0], f"{self._name(seqinfo)}: imDir {refusal[1]}", seqinfo)
            return
        truth = GroundTruth(self.source, sequence)
        gt_uri = FileSystems.join(self.folder, GROUND_TRUTH)
        if gt_uri in self.found.refused:
            yield self.listing.reject_record(*self.found.refused[gt_uri], gt_uri)
        elif gt_uri in self.found.files:
            check_metadata_size(gt_uri)
            truth.read(read_bytes(gt_uri).decode("utf-8", "replace"), self._name(gt_uri))
        for number, detail in truth.unplaced:
            yield self.listing.reject_record("bad_metadata", detail, f"{gt_uri}:{number}")
        self._describe_frames(sequence, truth, images_uri)

    def _describe_frames(self, sequence: Sequence, truth: GroundTruth, images_uri: str):
        files = self._under(images_uri)
        frames = _frames(sequence, files)
        for uri, (reason, detail) in self.found.refused.items():
            if uri.startswith(images_uri.rstrip("/") + "/"):
                self.listing.refuse(uri, reason, detail)
        for uri in set(files) - set(frames.values()):
            self.listing.describe(uri, {"file": self._name(uri)}, self._name(uri))
        for frame in sorted(f for f in set(frames) | set(truth.lines) if (f - 1) % self.source.frame_step == 0):
            uri = frames.get(frame) or FileSystems.join(images_uri, sequence.frame_name(frame))
            record = {"file": self._name(uri), "sequence": sequence.name, "order": frame - 1,
                      "timestamp": sequence.seconds(frame)}
            if frame in truth.regions:
                record["regions"] = truth.regions_of(frame)
            problem = truth.problems.get(frame) or metadata_problem(record)
            self.listing.describe(uri, record, truth.lines.get(frame, self._name(uri)), problem,
                                  exists=frame in frames)


def list_mot(source):
    """The frames of every sequence below ``location`` (each folder holding a seqinfo.ini)."""
    found = find_files(source.location)
    folders = sorted(posixpath.dirname(uri) for uri in found.files if posixpath.basename(uri) == SEQINFO)
    if not folders:
        raise SourceUnusable("unreadable_source", f"{source.location}: no {SEQINFO} below it (not a MOTChallenge folder)")
    listing = Listing(source, STAGE)
    for uri, (reason, detail) in sorted(found.refused.items()):
        if posixpath.basename(uri) == SEQINFO:
            yield listing.reject_record(reason, detail, printable(uri))
    for folder in folders:
        yield from SequenceListing(source, listing, found, folder).list()
    yield from listing.settle()
