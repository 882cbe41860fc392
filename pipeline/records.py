"""The records that flow between stages.

Images travel as references (uri, hashes, size, metadata), never as pixels; stages that need
pixels read the bytes again through Beam's FileSystems.
"""
import dataclasses
import hashlib
import json
import posixpath


def sha256_hex(data: bytes) -> str:
    """The sha256 of ``data`` in hex: an image's id, and how a re-read image is recognised."""
    return hashlib.sha256(data).hexdigest()


def image_entry(facts: dict, data) -> dict:
    """A sample's ``images`` entry (the Hugging Face Image layout) for the image ``facts``
    (its ``image_facts`` entry) describe: with its bytes, a file name (an image the pipeline
    derived is a JPEG named by its sha256); without them, where the build read it, which is
    where a reader can open it."""
    if data is None:
        return {"bytes": None, "path": facts["uri"]}
    name = f"{facts['sha256']}.jpg" if facts["derived_from"] else posixpath.basename(facts["uri"])
    return {"bytes": data, "path": name}


def content_id(*parts, length: int = 16) -> str:
    """A short hex id derived from JSON-serialisable parts, stable across runs and machines."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


@dataclasses.dataclass(frozen=True)
class ImageRef:
    """A listed image: where it is, which source listed it, and its sidecar metadata."""
    uri: str
    source: str
    metadata: dict


@dataclasses.dataclass(frozen=True)
class HashedImage:
    """A decoded image reduced to what dedup and grouping need. ``id`` is the sha256 of its bytes."""
    id: str
    uri: str
    source: str
    width: int
    height: int
    phash: str
    metadata: dict
    hash_algorithm: str = ""  # how ``phash`` was computed (images.phash.HASH_ALGORITHM), versions included
    crop_hashes: tuple = ()  # pHashes of parts of the image (images.phash.CROP_BOXES), so crops match it
    # What decides which copy of an image dedup keeps (images.near_duplicates.Copy):
    colour: bool = True  # False for greyscale pixels, whatever the file's mode
    format: str = ""  # Pillow's name of the file's format: JPEG, PNG, WEBP, ...
    file_size: int = 0  # bytes of the file

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclasses.dataclass(frozen=True)
class ContextImage:
    """One image slot of a context: a source image, optionally with a derivation to apply."""
    image: HashedImage
    transform: dict | None = None


@dataclasses.dataclass(frozen=True)
class Context:
    """The images one question will be asked about, in reading order."""
    id: str
    task: str
    split: str
    group: str
    images: tuple

    @property
    def sources(self) -> tuple:
        return tuple(sorted({slot.image.source for slot in self.images}))


def reject(stage: str, reason: str, detail: str, *, subject: str, kind: str, source: str = "",
           task: str = "") -> dict:
    """A rejects record: what was rejected (an image uri, a metadata line or a context id, as
    ``kind`` says), at which stage and why."""
    return {"stage": stage, "reason": reason, "detail": detail, "subject": subject,
            "subject_kind": kind, "source": source, "task": task}
