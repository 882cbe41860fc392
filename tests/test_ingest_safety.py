"""Ingest against hostile collections: paths that leave the source, metadata that is not clean,
files that are not images, sources that are missing or unreadable. Real folders, real images,
real Beam pipelines (ReadSources + DecodeAndHash) and one real `mir build`."""
import dataclasses
import json
import os
import pathlib
import subprocess
import sys

import apache_beam as beam
import pandas as pd
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from PIL import Image

from pipeline.manifest import parse_manifest
from pipeline.records import sha256_hex
from pipeline.stages.decode_and_hash import DecodeAndHash
from pipeline.stages.read_sources import ReadSources
from tests.conftest import ROOT, make_photo

LIMITS = dict(max_pixels=10_000_000, min_side=16)
BOX = [0.1, 0.2, 0.6, 0.7]


def _source(base, kind, location, **options):
    entry = {"name": "src", "kind": kind, "location": str(location), "licence": "CC0-1.0",
             "attribution": "tests", **options}
    return parse_manifest({"sources": [entry]}, str(base)).sources[0]


def _line(file, **fields) -> bytes:
    return (json.dumps({"file": file, **fields}) + "\n").encode()


def _run(source, scratch):
    """(hashed images as {uri: [sha256, width, height, caption]}, rejects) of ReadSources +
    DecodeAndHash over ``source`` in a real pipeline, written as JSON lines under ``scratch``."""
    with TestPipeline() as p:
        listed = p | ReadSources([source])
        decoded = listed["images"] | DecodeAndHash(**LIMITS)
        (decoded["images"]
         | beam.Map(lambda im: json.dumps([im.uri, [im.id, im.width, im.height, im.metadata.get("caption")]]))
         | "Hashed" >> beam.io.WriteToText(str(scratch / "hashed")))
        ((listed["rejects"], decoded["rejects"]) | beam.Flatten() | beam.Map(json.dumps)
         | "Rejects" >> beam.io.WriteToText(str(scratch / "rejects")))

    def read(name):
        return [json.loads(line) for path in scratch.glob(f"{name}*") for line in path.read_text().splitlines()]
    return dict(read("hashed")), read("rejects")


def _reasons(rejects) -> dict:
    """{subject: (stage, reason, subject_kind)} of image and metadata rejects."""
    return {r["subject"]: (r["stage"], r["reason"], r["subject_kind"]) for r in rejects}


@pytest.fixture
def hostile(tmp_path):
    """A photo folder beside a folder of secrets, with links and a sidecar pointing at them,
    unclean metadata lines, Netpbm images and files that are no images."""
    secrets = tmp_path / "secrets"
    for i, name in enumerate(("one.jpg", "two.jpg", "three.jpg", "inner/four.jpg")):
        make_photo(secrets / name, seed=900 + i)
    folder = tmp_path / "photos"
    for i, name in enumerate("abcdefgh"):
        make_photo(folder / f"{name}.jpg", seed=i)
    make_photo(folder / "sub" / "good.jpg", seed=20)
    (folder / "out.jpg").symlink_to(secrets / "one.jpg")
    (folder / "again.jpg").symlink_to(folder / "sub" / "good.jpg")
    (folder / "elsewhere").symlink_to(secrets / "inner", target_is_directory=True)
    (folder / "inside").symlink_to(folder / "sub", target_is_directory=True)
    Image.open(folder / "a.jpg").convert("L").save(folder / "grey.pgm")
    Image.open(folder / "b.jpg").save(folder / "colour.ppm")
    Image.open(folder / "c.jpg").save(folder / "scan.dat", format="PNG")  # an image by its bytes
    (folder / "notes.txt").write_text("shot on a sunny day\n")
    make_photo(folder / ".hidden.jpg", seed=30)
    make_photo(folder / ".cache" / "thumb.jpg", seed=31)
    lines = [
        _line("../secrets/two.jpg"),
        _line(str(secrets / "three.jpg")),
        _line("elsewhere/four.jpg"),
        _line("a.jpg", regions=[{"id": "r", "label": "cup", "bbox": [0.1, 0.1, float("nan"), 0.5]}]),
        b'{"file": "b.jpg", "timestamp": 1e400}\n',
        _line("c.jpg", regions=[{"id": "r", "label": "cup", "bbox": [0.6, 0.1, 0.2, 0.5]}]),
        b'{"file": "d.jpg", "caption": "caf\xe9 au lait"}\n',
        b'{"file": "e.jpg", "caption": "one", "caption": "two"}\n',
        _line("f.jpg", caption="x" * 20_000),
        _line("g.jpg", regions=[{"id": "r", "label": "cup", "bbox": [0.1, 0.1, 1.5, 0.5]}]),
        _line("h.jpg", caption="A fine photo.", regions=[{"id": "r", "label": "cup", "bbox": BOX}]),
    ]
    (folder / "metadata.jsonl").write_bytes(b"".join(lines))
    return tmp_path, folder, secrets


def test_hostile_folder_is_confined_cleaned_and_fully_accounted(hostile):
    base, folder, secrets = hostile
    hashed, rejects = _run(_source(base, "folder", folder), base / "scratch")
    f = str(folder)
    assert set(hashed) == {f"{f}/h.jpg", f"{f}/sub/good.jpg", f"{f}/again.jpg", f"{f}/grey.pgm",
                           f"{f}/colour.ppm", f"{f}/scan.dat"}
    assert hashed[f"{f}/h.jpg"][3] == "A fine photo."
    assert hashed[f"{f}/grey.pgm"][1:3] == [160, 120] and hashed[f"{f}/colour.ppm"][1:3] == [160, 120]
    assert _reasons(rejects) == {
        str(secrets / "two.jpg"): ("read_sources", "outside_source", "image"),
        str(secrets / "three.jpg"): ("read_sources", "outside_source", "image"),
        f"{f}/elsewhere/four.jpg": ("read_sources", "outside_source", "image"),
        f"{f}/elsewhere": ("read_sources", "outside_source", "image"),
        f"{f}/out.jpg": ("read_sources", "outside_source", "image"),
        **{f"{f}/{name}.jpg": ("read_sources", "bad_metadata", "image") for name in "abcdefg"},
        f"{f}/notes.txt": ("read_sources", "unsupported_format", "image"),
    }
    # Nothing of the secrets was read: no hashed image has their bytes.
    secret_ids = {sha256_hex(p.read_bytes()) for p in secrets.rglob("*.jpg")}
    assert not secret_ids & {facts[0] for facts in hashed.values()}
    # Every file below the folder (but the sidecar and hidden ones), and every outside path the
    # sidecar names, has exactly one fate.
    assert len(hashed) + len(rejects) == 16 + 3


def test_reject_details_name_the_field_and_the_path(hostile):
    base, folder, secrets = hostile
    _, rejects = _run(_source(base, "folder", folder), base / "scratch")
    detail = {r["subject"].rsplit("/", 1)[1]: r["detail"] for r in rejects}
    assert detail["a.jpg"] == "metadata.jsonl line 4: regions.0.bbox.2: nan is not a finite number"
    assert detail["b.jpg"] == "metadata.jsonl line 5: timestamp: inf is not a finite number"
    assert detail["c.jpg"] == ("metadata.jsonl line 6: regions.0.bbox: [0.6, 0.1, 0.2, 0.5] is inverted or "
                               "empty (need x0 < x1 and y0 < y1)")
    assert detail["d.jpg"] == "metadata.jsonl line 7: caption: text that is not valid UTF-8"
    assert detail["e.jpg"] == "metadata.jsonl line 8: (top level): key 'caption' appears more than once"
    assert detail["f.jpg"] == "metadata.jsonl line 9: caption: longer than 10,000 characters"
    assert detail["g.jpg"] == "metadata.jsonl line 10: regions.0.bbox.2: 1.5 is greater than the maximum of 1"
    assert detail["two.jpg"] == f"metadata.jsonl line 1: '../secrets/two.jpg' leads out of {folder}"
    assert detail["three.jpg"].startswith(f"metadata.jsonl line 2: '{secrets / 'three.jpg'}' is absolute")
    assert detail["four.jpg"] == (f"metadata.jsonl line 3: 'elsewhere/four.jpg' is a symlink (or a path through "
                                  f"one) to {secrets / 'inner' / 'four.jpg'}, outside the source")
    assert detail["out.jpg"] == (f"{folder}/out.jpg is a symlink (or a path through one) to {secrets / 'one.jpg'}, "
                                 "outside the source")
    assert detail["notes.txt"].startswith(".txt: the first bytes are none of BMP, GIF, JPEG")


def test_files_that_cannot_be_read_safely_are_refused_without_crashing(tmp_path):
    folder = tmp_path / "photos"
    make_photo(folder / "ok.jpg", seed=1)
    make_photo(folder / "x.jpg", seed=2)
    os.rename(folder / "x.jpg", os.fsencode(folder) + b"/caf\xe9.jpg")  # a name that is not UTF-8
    os.mkfifo(folder / "pipe.jpg")  # reading it would block forever
    (folder / "broken.jpg").symlink_to(folder / "gone.jpg")
    hashed, rejects = _run(_source(tmp_path, "folder", folder), tmp_path / "scratch")
    assert set(hashed) == {f"{folder}/ok.jpg"}
    assert sorted((r["subject"], r["stage"], r["reason"]) for r in rejects) == [
        (f"{folder}/broken.jpg", "decode_and_hash", "unreadable"),
        (f"{folder}/caf\\udce9.jpg", "read_sources", "bad_file_name"),
        (f"{folder}/pipe.jpg", "read_sources", "unsupported_format")]


def test_manifest_rows_stay_in_the_listing_folder_unless_allowed(tmp_path):
    folder = tmp_path / "listing"
    make_photo(folder / "in.jpg", seed=1)
    make_photo(tmp_path / "outside.jpg", seed=2)
    make_photo(tmp_path / "other.jpg", seed=3)
    (folder / "link.jpg").symlink_to(tmp_path / "outside.jpg")
    rows = ["in.jpg", "../other.jpg", str(tmp_path / "outside.jpg"), "link.jpg", "nosuch://bucket/a.jpg"]
    (folder / "rows.jsonl").write_text("".join(json.dumps({"file": r}) + "\n" for r in rows))
    confined = _run(_source(tmp_path, "manifest", folder / "rows.jsonl"), tmp_path / "confined")
    allowed = _run(_source(tmp_path, "manifest", folder / "rows.jsonl", allow_absolute=True), tmp_path / "allowed")
    outside = ("read_sources", "outside_source", "image")
    assert set(confined[0]) == {f"{folder}/in.jpg"}
    assert _reasons(confined[1]) == {str(tmp_path / "other.jpg"): outside, str(tmp_path / "outside.jpg"): outside,
                                     f"{folder}/link.jpg": outside, "nosuch://bucket/a.jpg": outside}
    # Allowed absolute rows are read; relative ones stay confined to the listing's folder.
    assert set(allowed[0]) == {f"{folder}/in.jpg", str(tmp_path / "outside.jpg")}
    assert _reasons(allowed[1]) == {str(tmp_path / "other.jpg"): outside, f"{folder}/link.jpg": outside,
                                    "nosuch://bucket/a.jpg": ("read_sources", "unsupported_uri", "image")}
    unsupported = next(r for r in allowed[1] if r["reason"] == "unsupported_uri")
    assert "pip" not in unsupported["detail"] and "nosuch://" in unsupported["detail"]


def test_listing_rows_are_checked_like_sidecar_lines(tmp_path):
    for name in "abcde":
        make_photo(tmp_path / f"{name}.jpg", seed=ord(name))
    (tmp_path / "rows.csv").write_text("file,timestamp,caption\na.jpg,nan,\nb.jpg,1e400,\n"
                                       f"c.jpg,,{'x' * 200_000}\nd.jpg,1.5,Fine.\ne.jpg,2,x,extra\n")
    hashed, rejects = _run(_source(tmp_path, "manifest", tmp_path / "rows.csv"), tmp_path / "scratch")
    assert {uri: facts[3] for uri, facts in hashed.items()} == {str(tmp_path / "d.jpg"): "Fine."}
    assert {r["subject"]: (r["reason"], r["subject_kind"], r["detail"]) for r in rejects} == {
        str(tmp_path / "a.jpg"): ("bad_metadata", "image", "rows.csv row 2: timestamp: nan is not a finite number"),
        str(tmp_path / "b.jpg"): ("bad_metadata", "image", "rows.csv row 3: timestamp: inf is not a finite number"),
        f"{tmp_path / 'rows.csv'}:4": ("bad_metadata", "metadata",
                                       "rows.csv row 4: not a readable CSV row (field larger than field limit (131072))"),
        str(tmp_path / "e.jpg"): ("bad_metadata", "image", "rows.csv row 6: the row has more cells than the header"),
    }


def test_coco_file_names_and_annotations_are_checked(tmp_path):
    images = tmp_path / "images"
    for name in ("1.jpg", "2.jpg", "3.jpg"):
        make_photo(images / name, seed=int(name[0]), size=(200, 100))
    make_photo(tmp_path / "private.jpg", seed=9, size=(200, 100))
    entry = {"width": 200, "height": 100}
    coco = ('{"images": [' + ", ".join(json.dumps(dict(entry, id=i, file_name=n)) for i, n in
                                        ((1, "1.jpg"), (2, "2.jpg"), (3, "3.jpg"), (4, "../private.jpg"))) + '],'
            ' "categories": [{"id": 1, "name": "cup"}],'
            ' "annotations": [{"id": 10, "image_id": 1, "category_id": 1, "bbox": [20, 10, 100, 50]},'
            '                 {"id": 20, "image_id": 2, "category_id": 1, "bbox": [20, 10, NaN, 50]},'
            '                 {"id": 30, "image_id": 3, "category_id": 1, "category_id": 1, "bbox": [1, 1, 9, 9]}]}')
    (images / "instances.json").write_text(coco)
    hashed, rejects = _run(_source(tmp_path, "coco", images / "instances.json"), tmp_path / "scratch")
    assert set(hashed) == {f"{images}/1.jpg"}
    assert {r["subject"]: (r["reason"], r["detail"]) for r in rejects} == {
        f"{images}/2.jpg": ("bad_metadata", "instances.json image 2: annotation 20: bbox.2: nan is not a finite number"),
        f"{images}/3.jpg": ("bad_metadata", "instances.json image 3: annotation 30: (top level): key 'category_id' "
                                            "appears more than once"),
        str(tmp_path / "private.jpg"): ("outside_source", f"instances.json image 4: '../private.jpg' leads out of {images}"),
    }


def test_missing_and_unreadable_sources_are_reported_by_name(tmp_path):
    data = b"file,caption\na.jpg,caf\xe9\n"
    (tmp_path / "rows.csv").write_bytes(data)
    bad = data.index(b"\xe9")
    sources = [_source(tmp_path, "folder", tmp_path / "nowhere"),
               _source(tmp_path, "manifest", tmp_path / "gone.jsonl"),
               _source(tmp_path, "manifest", tmp_path / "rows.csv")]
    sources = [dataclasses.replace(s, name=name) for s, name in zip(sources, ("lost", "gone", "badbyte"))]
    with TestPipeline() as p:
        rejects = (p | ReadSources(sources))["rejects"]
        assert_that(rejects | beam.Map(lambda r: (r["source"], r["reason"], r["subject_kind"], r["subject"], r["detail"])),
                    equal_to([("lost", "missing_source", "metadata", str(tmp_path / "nowhere"),
                               f"source 'lost': {tmp_path / 'nowhere'} does not exist"),
                              ("gone", "missing_source", "metadata", str(tmp_path / "gone.jsonl"),
                               f"source 'gone': {tmp_path / 'gone.jsonl'} does not exist"),
                              ("badbyte", "unreadable_source", "metadata", str(tmp_path / "rows.csv"),
                               f"source 'badbyte': {tmp_path / 'rows.csv'}: not valid UTF-8 (byte {bad})")]))


def test_a_hostile_folder_builds_and_every_file_has_a_row(hostile):
    """The whole build: no line crashes it, nothing from outside is published, the counts add up."""
    base, folder, secrets = hostile
    (base / "m.yaml").write_text(f"sources: [{{name: photos, kind: folder, location: {folder}, licence: L, attribution: A}}]\n")
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "build", "--manifest", str(base / "m.yaml"),
                           "--output", str(base / "out")], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    out = base / "out"
    table = pd.read_parquet(out / "images.parquet")
    assert table["uri"].is_unique and len(table) == 16 + 3
    assert set(table[table["status"] != "rejected"]["uri"]) == {
        f"{folder}/h.jpg", f"{folder}/sub/good.jpg", f"{folder}/again.jpg", f"{folder}/grey.pgm",
        f"{folder}/colour.ppm", f"{folder}/scan.dat"}
    report = json.loads((out / "report.json").read_text())
    images = report["images"]
    assert images["in"] == 19 == images["kept"] + images["duplicate"] + images["rejected"]
    assert all(check["holds"] for check in report["conservation"].values())
    secret_bytes = [p.read_bytes() for p in secrets.rglob("*.jpg")]
    published = b"".join(p.read_bytes() for p in pathlib.Path(out / "data").rglob("*.parquet"))
    assert published and not any(secret[1000:1400] in published for secret in secret_bytes)
