"""Nothing assumes local paths: ingest and dedup run from a non-local FileSystems scheme."""
import io
import posixpath

import apache_beam as beam
from apache_beam.io.filesystem import FileMetadata, FileSystem
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from PIL import Image

from pipeline.manifest import parse_manifest
from pipeline.stages.decode_and_hash import DecodeAndHash
from pipeline.stages.deduplicate import Deduplicate
from pipeline.stages.read_sources import ReadSources
from tests.conftest import make_photo
from tests.test_sources import _write_video

# The files of the memfs:// scheme; the DirectRunner of a TestPipeline runs in this process.
FILES = {}


class _Writer(io.BytesIO):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def close(self):
        FILES[self.path] = self.getvalue()
        super().close()


class MemoryFileSystem(FileSystem):
    """A bucket-like scheme held in a dict: no folders, only keys. Beam finds it by subclass."""

    @classmethod
    def scheme(cls):
        return "memfs"

    def join(self, basepath, *paths):
        return posixpath.join(basepath, *paths)

    def split(self, path):
        return posixpath.split(path)

    def has_dirs(self):
        return False

    def mkdirs(self, path):
        pass

    def _list(self, prefix):
        for path in sorted(FILES):
            if path.startswith(prefix):
                yield FileMetadata(path, len(FILES[path]))

    def create(self, path, mime_type="application/octet-stream", compression_type=None):
        return _Writer(path)

    def open(self, path, mime_type="application/octet-stream", compression_type=None):
        if path not in FILES:
            raise FileNotFoundError(path)
        return io.BytesIO(FILES[path])

    def copy(self, sources, destinations):
        for s, d in zip(sources, destinations):
            FILES[d] = FILES[s]

    def rename(self, sources, destinations):
        for s, d in zip(sources, destinations):
            FILES[d] = FILES.pop(s)

    def exists(self, path):
        return path in FILES

    def size(self, path):
        return len(FILES[path])

    def last_updated(self, path):
        return 0.0

    def checksum(self, path):
        return str(len(FILES[path]))

    def metadata(self, path):
        return FileMetadata(path, len(FILES[path]))

    def delete(self, paths):
        for path in paths:
            FILES.pop(path, None)


def _put(uri, local_path):
    FILES[uri] = local_path.read_bytes()


def test_ingest_and_dedup_run_from_a_non_local_scheme(tmp_path):
    FILES.clear()
    bucket = "memfs://bucket"
    for i in range(4):
        _put(f"{bucket}/photos/p{i}.jpg", make_photo(tmp_path / f"p{i}.jpg", seed=i))
    Image.open(tmp_path / "p0.jpg").save(tmp_path / "p0_q40.jpg", quality=40)
    _put(f"{bucket}/photos/nested/p0_q40.jpg", tmp_path / "p0_q40.jpg")
    FILES[f"{bucket}/photos/copy_of_p1.jpg"] = FILES[f"{bucket}/photos/p1.jpg"]
    FILES[f"{bucket}/photos/broken.jpg"] = FILES[f"{bucket}/photos/p2.jpg"][:200]
    FILES[f"{bucket}/photos/metadata.jsonl"] = b'{"file": "p3.jpg", "caption": "Third."}\n'
    _put(f"{bucket}/listing/images.jsonl", _listing(tmp_path, f"{bucket}/photos/p3.jpg"))
    _write_video(tmp_path / "clip.mp4", 2)
    _put(f"{bucket}/clips/clip.mp4", tmp_path / "clip.mp4")
    sources = parse_manifest({"sources": [
        {"name": "photos", "kind": "folder", "location": f"{bucket}/photos", "licence": "x", "attribution": "x"},
        {"name": "listed", "kind": "manifest", "location": f"{bucket}/listing/images.jsonl",
         "licence": "x", "attribution": "x", "dedup_scope": "within_source", "allow_absolute": True},
        {"name": "clips", "kind": "video", "location": f"{bucket}/clips", "licence": "x",
         "attribution": "x", "dedup_scope": "off"},
    ]}, "/nowhere").sources
    scopes = {s.name: s.dedup_scope for s in sources}
    with TestPipeline() as p:
        listed = p | ReadSources(sources)
        decoded = listed["images"] | DecodeAndHash(max_pixels=10**7, min_side=16)
        deduped = decoded["images"] | Deduplicate(scopes, threshold=8)
        assert_that(deduped["audit"] | beam.Map(lambda r: (r["uri"], r["status"], r["duplicate_of"])),
                    # Of identical files the smallest uri is kept; of near ones the largest image.
                    equal_to([(f"{bucket}/photos/p{i}.jpg", "kept", None) for i in (0, 2, 3)] + [
                        (f"{bucket}/photos/copy_of_p1.jpg", "kept", None),
                        (f"{bucket}/photos/p1.jpg", "duplicate", f"{bucket}/photos/copy_of_p1.jpg"),
                        (f"{bucket}/photos/nested/p0_q40.jpg", "duplicate", f"{bucket}/photos/p0.jpg"),
                        (f"{bucket}/photos/p3.jpg", "kept", None)] + [
                        (f"{bucket}/clips/clip.mp4#t=0.0", "kept", None),
                        (f"{bucket}/clips/clip.mp4#t=1.0", "kept", None)]),
                    label="audit")
        assert_that(decoded["rejects"] | beam.Map(lambda r: (r["subject"], r["reason"])),
                    equal_to([(f"{bucket}/photos/broken.jpg", "corrupt")]), label="rejects")
        assert_that(deduped["images"] | "Captions" >> beam.Map(lambda im: (im.source, im.metadata.get("caption")))
                    | beam.Filter(lambda pair: pair[1]),
                    equal_to([("photos", "Third."), ("listed", "Third.")]), label="metadata")


def _listing(tmp_path, uri):
    path = tmp_path / "images.jsonl"
    path.write_text(f'{{"file": "{uri}", "caption": "Third."}}\n')
    return path


def test_a_build_publishes_file_by_file_on_an_object_store():
    """No folders, no rename of one: the files move one by one, the old marker out first and
    the new one in last; a stranger's file under OUT is refused, and kept when OUT is a build."""
    import json

    import pytest

    from pipeline.output import publish

    out = "memfs://bucket/out"
    FILES[f"{out}/notes/mine.txt"] = b"mine"
    with pytest.raises(publish.PublishError, match="not a mir build"):
        publish.check_output(out, overwrite=True)
    del FILES[f"{out}/notes/mine.txt"]

    def build(files: dict) -> None:
        publish.check_output(out, overwrite=True)
        staging = publish.new_staging(out)
        for rel, data in files.items():
            FILES[f"{staging}/{rel}"] = data
        publish.publish(staging, out)

    build({"data/a/train-00000-of-00001.parquet": b"a", "report.json": b"{}"})
    assert json.loads(FILES[f"{out}/{publish.MARKER}"])["files"] == ["data/a/train-00000-of-00001.parquet",
                                                                     "report.json"]
    FILES[f"{out}/preview/index.html"] = b"a preview"
    with pytest.raises(publish.PublishError, match="--overwrite"):
        publish.check_output(out, overwrite=False)
    build({"data/b/train-00000-of-00001.parquet": b"b", "report.json": b"{\"n\": 1}"})
    assert sorted(p for p in FILES if p.startswith(out)) == [
        f"{out}/{publish.MARKER}", f"{out}/data/b/train-00000-of-00001.parquet", f"{out}/preview/index.html",
        f"{out}/report.json"]
    assert not [p for p in FILES if ".mir-staging-" in p]
