"""Bounds where hostile or unlucky input can grow (issue 24, must-haves 3, 4's BOMs and 7's pin):
YAML aliases and nesting, sidecar line and file sizes, bytes read at decode, frame counts, the
seed's range, derived views' aspect and size, near-duplicate clustering of identical hashes, BOMs,
and boxes of zero width or height. Memory is measured in a subprocess (ru_maxrss), never time."""
import json
import os
import random
import subprocess
import sys

import pytest


from pipeline.manifest import ManifestError, load_manifest, parse_manifest
from pipeline.samples.judge import validate_record
from pipeline.sources import MAX_IMAGE_BYTES, ImageTooLarge, list_source, read_image_bytes, sidecar, video
from pipeline.sources.metadata import metadata_problem
from pipeline.sources.paths import SourceUnusable
from pipeline.images.near_duplicates import Copy, HashTable, Row, cluster_keepers, near_duplicate_links
from pipeline.stages.deduplicate import MergeLinks
from pipeline.stages.group_contexts import MakeContexts
from pipeline.tasks import TASKS, scale_blur
from pipeline.tasks.base import derivable
from tests.conftest import ROOT, make_photo
from tests.test_sources import _write_video
from tests.mir_fixtures import sample_record


def _python(code: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter at the checkout (a timeout guards against hangs)."""
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


# --- near-duplicate clustering -------------------------------------------------------------


def _identical(n: int) -> HashTable:
    return HashTable.build([Row(f"img{i:05d}.jpg", (5,) * 7, "global", f"{i:064x}", Copy(f"img{i:05d}.jpg"))
                            for i in range(n)])


def test_identical_hashes_are_reduced_to_one_link_per_row_as_found():
    table = _identical(4000)
    links = [link for start in range(0, 4000, 1000) for link in near_duplicate_links(table, 8, start, start + 1000)]
    assert len(links) == 3999 + 2999 + 1999 + 999   # per block at most one link per row joined
    merge = MergeLinks()
    parent = merge.create_accumulator()
    for link in links:
        merge.add_input(parent, link)
    merged = merge.extract_output(parent)
    assert len(merged) == 3999 and set(merged) == {(row, 0) for row in range(1, 4000)}
    keepers = cluster_keepers(table, merged)
    assert len(keepers) == 4000 and set(keepers.values()) == {0}


def test_clustering_4000_identical_hashes_stays_within_bounded_memory():
    # 4,000 identical hashes are 7,998,000 matching pairs: held as a list, about 1 GB.
    result = _python(
        "import resource\n"
        "from tests.test_hostile_bounds import _identical\n"
        "from pipeline.images.near_duplicates import cluster_keepers, near_duplicate_links\n"
        "table = _identical(4000)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "keepers = cluster_keepers(table, near_duplicate_links(table, 8, 0, 4000))\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "print(len(keepers), len(set(keepers.values())), grown // 1024)\n")
    assert result.returncode == 0, result.stderr
    kept, keepers, grown_mb = map(int, result.stdout.split())
    assert (kept, keepers) == (4000, 1)
    assert grown_mb < 150


# --- the manifest's YAML -------------------------------------------------------------------

SOURCE = "  - {name: a, kind: folder, location: imgs, licence: CC0-1.0, attribution: me}\n"
# Nine levels of nine aliases: 9^9 = 387 million strings once expanded, from under 700 bytes.
ALIAS_BOMB = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
              + "".join(f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))
              + "sources:\n" + SOURCE)


def _build(tmp_path, text) -> subprocess.CompletedProcess:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "build", "--manifest", str(path),
                           "--output", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_a_yaml_alias_bomb_is_refused_in_one_line_without_expanding(tmp_path):
    assert len(ALIAS_BOMB) < 700
    done = _build(tmp_path, ALIAS_BOMB)
    assert done.returncode == 2
    assert done.stderr == f"mir: {tmp_path / 'm.yaml'}: not valid YAML at line 1: anchors and aliases (&, *) are not allowed\n"
    assert not (tmp_path / "out").exists()


def test_an_alias_in_a_value_the_schema_refuses_is_not_expanded_into_the_message(tmp_path):
    (tmp_path / "m.yaml").write_text("name: &n [x]\nsources:\n" + SOURCE + "grouping: {min_images: *n}\n")
    with pytest.raises(ManifestError) as raised:
        load_manifest(str(tmp_path / "m.yaml"))
    assert str(raised.value) == f"{tmp_path / 'm.yaml'}: not valid YAML at line 1: anchors and aliases (&, *) are not allowed"


def test_a_long_value_in_a_schema_error_is_cut_to_one_short_line(tmp_path):
    (tmp_path / "m.yaml").write_text("name: [" + ", ".join(["word\\nword"] * 50_000) + "]\nsources:\n" + SOURCE)
    with pytest.raises(ManifestError) as raised:
        load_manifest(str(tmp_path / "m.yaml"))
    assert len(str(raised.value)) == 306 and "\n" not in str(raised.value)
    assert str(raised.value).startswith("name: ['word\\\\nword', ") and str(raised.value).endswith("...")


@pytest.mark.parametrize("text, line", [
    ("sources: " + "[" * 50_000 + "]" * 50_000 + "\n", 1),                       # YAML flow sequences
    ('{"sources": ' + '{"a": ' * 50_000 + "1" + "}" * 50_001 + "\n", 1),          # JSON (YAML is a superset)
    ("sources:\n" + "".join("  " * d + "- \n" for d in range(500)), 65),        # block sequences
])
def test_deep_nesting_in_a_manifest_exits_2_in_one_line(tmp_path, text, line):
    done = _build(tmp_path, text)
    assert (done.returncode, done.stderr) == (
        2, f"mir: {tmp_path / 'm.yaml'}: not valid YAML at line {line}: nested deeper than 64 levels\n")


def test_a_manifest_over_a_megabyte_is_refused(tmp_path):
    (tmp_path / "m.yaml").write_text("sources:\n" + SOURCE + "#" * 1_000_000 + "\n")
    with pytest.raises(ManifestError) as raised:
        load_manifest(str(tmp_path / "m.yaml"))
    assert str(raised.value) == f"{tmp_path / 'm.yaml'}: larger than 1,000,000 bytes, not a manifest"


@pytest.mark.parametrize("seed, expected", [
    (10 ** 40, "seed: 10000000000000000000000000000000000000000 is greater than the maximum of 4294967295"),
    (-1, "seed: -1 is less than the minimum of 0"),
])
def test_a_seed_out_of_range_exits_2_at_manifest_load(tmp_path, seed, expected):
    done = _build(tmp_path, f"seed: {seed}\nsources:\n" + SOURCE)
    assert (done.returncode, done.stderr) == (2, f"mir: {expected}\n")


def test_the_seed_range_ends_are_accepted(tmp_path):
    for seed in (0, 2 ** 32 - 1):
        (tmp_path / "m.yaml").write_text(f"seed: {seed}\nsources:\n" + SOURCE)
        assert load_manifest(str(tmp_path / "m.yaml")).seed == seed


def test_a_manifest_starting_with_a_byte_order_mark_is_read(tmp_path):
    (tmp_path / "m.yaml").write_bytes(b"\xef\xbb\xbfseed: 7\nsources:\n" + SOURCE.encode())
    manifest = load_manifest(str(tmp_path / "m.yaml"))
    assert (manifest.seed, manifest.sources[0].name) == (7, "a")


# --- metadata lines and files ---------------------------------------------------------------


def _source(tmp_path, kind, location, **options):
    entry = {"name": "src", "kind": kind, "location": str(location), "licence": "CC0-1.0",
             "attribution": "tests", **options}
    return parse_manifest({"sources": [entry]}, str(tmp_path)).sources[0]


def _listed(source):
    """({file name: metadata}, [(subject file name, reason, detail)]) of one source."""
    items = list(list_source(source))
    refs = {i.uri.rsplit("/", 1)[-1]: i.metadata for i in items if not isinstance(i, dict)}
    rejects = sorted((r["subject"].rsplit("/", 1)[-1], r["reason"], r["detail"]) for r in items if isinstance(r, dict))
    return refs, rejects


def _photos(folder, *names):
    for seed, name in enumerate(names):
        make_photo(folder / name, seed)


def test_a_sidecar_line_over_a_megabyte_rejects_its_image_only_and_is_never_held_whole(tmp_path):
    folder = tmp_path / "photos"
    _photos(folder, "a.jpg", "big.jpg", "c.jpg")
    with open(folder / "metadata.jsonl", "wb") as f:   # line 2: 300 MB, a hole on disk
        f.write(b'{"file": "a.jpg", "caption": "A dog."}\n{"file": "big.jpg", "caption": "')
        f.seek(300_000_000)
        f.write(b'"}\n{"file": "c.jpg", "caption": "A cat."}\n')
    result = _python(
        "import json, resource, sys\n"
        "from tests.test_hostile_bounds import _listed, _source\n"
        "import pathlib\n"
        f"tmp = pathlib.Path({str(tmp_path)!r})\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "refs, rejects = _listed(_source(tmp, 'folder', tmp / 'photos'))\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "print(json.dumps([refs, rejects, grown // 1024]))\n")
    assert result.returncode == 0, result.stderr[-2000:]
    refs, rejects, grown_mb = json.loads(result.stdout)
    assert refs == {"a.jpg": {"file": "a.jpg", "caption": "A dog."}, "c.jpg": {"file": "c.jpg", "caption": "A cat."}}
    assert rejects == [["big.jpg", "bad_metadata", "metadata.jsonl line 2: line longer than 1,000,000 bytes"]]
    assert grown_mb < 60


def test_a_line_at_the_limit_is_read_and_one_byte_more_is_not(tmp_path, monkeypatch):
    monkeypatch.setattr(sidecar, "MAX_LINE_BYTES", 100)
    folder = tmp_path / "photos"
    _photos(folder, "a.jpg", "b.jpg")
    line_a = b'{"file": "a.jpg", "caption": "' + b"x" * 68 + b'"}\n'
    line_b = b'{"file": "b.jpg", "caption": "' + b"x" * 69 + b'"}\n'
    assert (len(line_a), len(line_b)) == (101, 102)   # the limit does not count the newline
    (folder / "metadata.jsonl").write_bytes(line_a + line_b)
    refs, rejects = _listed(_source(tmp_path, "folder", folder))
    assert refs == {"a.jpg": {"file": "a.jpg", "caption": "x" * 68}}
    assert rejects == [("b.jpg", "bad_metadata", "metadata.jsonl line 2: line longer than 100 bytes")]


def test_an_over_long_line_naming_no_file_rejects_the_line(tmp_path, monkeypatch):
    monkeypatch.setattr(sidecar, "MAX_LINE_BYTES", 100)
    folder = tmp_path / "photos"
    _photos(folder, "a.jpg")
    (folder / "metadata.jsonl").write_bytes(b'{"caption": "' + b"x" * 200 + b'"}\n')
    refs, rejects = _listed(_source(tmp_path, "folder", folder))
    assert refs == {"a.jpg": {"file": "a.jpg"}}
    assert rejects == [("metadata.jsonl:1", "bad_metadata", "metadata.jsonl line 1: line longer than 100 bytes")]


@pytest.mark.parametrize("kind, name", [("folder", "metadata.jsonl"), ("manifest", "listing.jsonl"),
                                        ("manifest", "listing.csv")])
def test_a_metadata_file_over_the_size_limit_is_refused_as_a_whole(tmp_path, kind, name):
    folder = tmp_path / "photos"
    _photos(folder, "a.jpg")
    with open(folder / name, "wb") as f:   # 2^30 + 1 bytes, all but one a hole on disk
        f.write(b"file\n" if name.endswith(".csv") else b"\n")
        f.truncate(2 ** 30 + 1)
    with pytest.raises(SourceUnusable) as raised:
        list(list_source(_source(tmp_path, kind, folder if kind == "folder" else folder / name)))
    assert raised.value.reason == "unreadable_source"
    assert str(raised.value) == f"{folder / name}: 1,073,741,825 bytes, larger than 1,073,741,824 for a metadata file"


def test_deeply_nested_json_in_a_sidecar_rejects_its_line(tmp_path):
    folder = tmp_path / "photos"
    _photos(folder, "a.jpg", "b.jpg")
    deep = b'{"file": "b.jpg", "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}\n"
    (folder / "metadata.jsonl").write_bytes(b'{"file": "a.jpg", "caption": "A dog."}\n' + deep)
    refs, rejects = _listed(_source(tmp_path, "folder", folder))
    assert refs == {"a.jpg": {"file": "a.jpg", "caption": "A dog."}, "b.jpg": {"file": "b.jpg"}}
    assert rejects == [("metadata.jsonl:2", "bad_metadata", "metadata.jsonl line 2: not valid JSON (nested too deeply)")]


# --- byte order marks -----------------------------------------------------------------------


def test_a_byte_order_mark_keeps_the_first_sidecar_lines_metadata(tmp_path):
    folder = tmp_path / "photos"
    _photos(folder, "a.jpg", "b.jpg")
    (folder / "metadata.jsonl").write_bytes(b'\xef\xbb\xbf{"file": "a.jpg", "caption": "A dog."}\n'
                                            b'{"file": "b.jpg", "caption": "A cat."}\n')
    refs, rejects = _listed(_source(tmp_path, "folder", folder))
    assert refs == {"a.jpg": {"file": "a.jpg", "caption": "A dog."}, "b.jpg": {"file": "b.jpg", "caption": "A cat."}}
    assert rejects == []


@pytest.mark.parametrize("name, text", [
    ("listing.jsonl", '{"file": "a.jpg", "caption": "A dog."}\n'),
    ("listing.csv", "file,caption\na.jpg,A dog.\n"),
])
def test_a_byte_order_mark_keeps_the_first_listing_rows_metadata(tmp_path, name, text):
    folder = tmp_path / "photos"
    _photos(folder, "a.jpg")
    (folder / name).write_bytes(b"\xef\xbb\xbf" + text.encode())
    refs, rejects = _listed(_source(tmp_path, "manifest", folder / name))
    assert (refs, rejects) == ({"a.jpg": {"file": "a.jpg", "caption": "A dog."}}, [])


def test_a_byte_order_mark_before_a_coco_file_is_read(tmp_path):
    folder = tmp_path / "coco"
    _photos(folder, "a.jpg")
    coco = {"images": [{"id": 1, "file_name": "a.jpg", "width": 160, "height": 120}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [16, 12, 80, 60]}],
            "categories": [{"id": 1, "name": "dog"}]}
    (folder / "instances.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(coco).encode())
    refs, rejects = _listed(_source(tmp_path, "coco", folder / "instances.json"))
    assert rejects == [] and [r["bbox"] for r in refs["a.jpg"]["regions"]] == [[0.1, 0.1, 0.6, 0.6]]


# --- boxes of zero width or height (pinned at the bound) --------------------------------------

ZERO_AREA = [
    ([0.3, 0.2, 0.3, 0.6], "x0 == x1"),
    ([0.1, 0.4, 0.5, 0.4], "y0 == y1"),
    ([0.3, 0.4, 0.3, 0.4], "a point"),
]
THINNEST = [0.3, 0.2, 0.30000000000000004, 0.6]   # x1 is the next float after x0


@pytest.mark.parametrize("bbox, what", ZERO_AREA)
def test_a_zero_width_or_height_box_is_refused_in_sidecars(bbox, what):
    record = {"file": "a.jpg", "regions": [{"id": "r", "label": "cup", "bbox": bbox}]}
    assert metadata_problem(record) == f"regions.0.bbox: {bbox} is inverted or empty (need x0 < x1 and y0 < y1)"


def test_the_thinnest_box_is_accepted_in_sidecars():
    assert 0.3 < THINNEST[2] and metadata_problem(
        {"file": "a.jpg", "regions": [{"id": "r", "label": "cup", "bbox": THINNEST}]}) is None


@pytest.mark.parametrize("bbox, what", ZERO_AREA)
def test_a_zero_width_or_height_box_is_refused_by_the_judge(bbox, what):
    record = sample_record()
    record["reasoning"]["text2region"][0]["bbox"] = bbox
    problems = validate_record(record)
    assert [(p.path, p.message) for p in problems] == [
        ("$.reasoning.text2region[0].bbox", f"box {bbox} needs x0 < x1 and y0 < y1")]


def test_the_thinnest_box_is_accepted_by_the_judge():
    record = sample_record()
    record["reasoning"]["text2region"][0]["bbox"] = THINNEST
    assert validate_record(record) == []


# --- video frame counts ----------------------------------------------------------------------


def test_a_frame_rate_of_1e9_is_refused_at_manifest_load(tmp_path):
    done = _build(tmp_path, "sources:\n  - {name: v, kind: video, location: clips, licence: CC0-1.0, "
                            "attribution: me, frame_rate: 1.0e+9}\n")
    assert (done.returncode, done.stderr) == (2, "mir: sources.0.frame_rate: 1000000000.0 is greater than the maximum of 1000\n")


@pytest.mark.parametrize("limit, frames, rejects", [
    (6, 6, []),
    (5, 0, [("a.mp4", "too_many_frames", "3 s at frame_rate 2 is more than 5 frames")]),
])
def test_a_video_giving_more_frames_than_the_cap_is_rejected_whole(tmp_path, monkeypatch, limit, frames, rejects):
    monkeypatch.setattr(video, "MAX_FRAMES_PER_VIDEO", limit)
    (tmp_path / "clips").mkdir()
    _write_video(tmp_path / "clips" / "a.mp4", 3)
    refs, found = _listed(_source(tmp_path, "video", tmp_path / "clips", frame_rate=2))
    assert (len(refs), found) == (frames, rejects)


def test_an_endless_duration_counts_as_too_many_frames():
    assert video.frame_count(float("inf"), 1.0) == 100_001
    assert video.frame_count(100_000.0, 1.0) == 100_000


# --- bytes read at decode --------------------------------------------------------------------


def test_a_huge_file_with_a_jpeg_head_is_rejected_too_large_without_being_read_whole(tmp_path):
    folder = tmp_path / "photos"
    _photos(folder, "a.jpg")
    with open(folder / "huge.jpg", "wb") as f:   # a valid JPEG, then 3 GB (a hole on disk)
        f.write((folder / "a.jpg").read_bytes())
        f.truncate(3 * 2 ** 30)
    result = _python(
        "import json, pathlib, resource\n"
        "from tests.test_hostile_bounds import _source\n"
        "from pipeline.sources import list_source\n"
        "from pipeline.stages.decode_and_hash import DecodeAndHashFn\n"
        f"tmp = pathlib.Path({str(tmp_path)!r})\n"
        "refs = [r for r in list_source(_source(tmp, 'folder', tmp / 'photos')) if not isinstance(r, dict)]\n"
        "fn = DecodeAndHashFn(max_pixels=10_000_000, min_side=16, max_bytes=10_000_000)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "out = {r.uri.rsplit('/', 1)[-1]: fn.work(r) for r in refs}\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "out = {k: [v['reason'], v['detail']] if isinstance(v, dict) else v.width for k, v in out.items()}\n"
        "print(json.dumps([out, grown // 1024]))\n")
    assert result.returncode == 0, result.stderr[-2000:]
    out, grown_mb = json.loads(result.stdout)
    assert out == {"a.jpg": 160, "huge.jpg": ["too_large", "the file is larger than 10,000,000 bytes (decode.max_bytes)"]}
    assert grown_mb < 100


def test_decode_max_bytes_defaults_to_256_mib_and_is_exact_at_the_bound(tmp_path):
    assert MAX_IMAGE_BYTES == 268_435_456 == parse_manifest(
        {"sources": [{"name": "a", "kind": "folder", "location": "x", "licence": "l", "attribution": "a"}]},
        str(tmp_path)).decode["max_bytes"]
    (tmp_path / "f.bin").write_bytes(b"x" * 100)
    assert read_image_bytes(str(tmp_path / "f.bin"), max_bytes=100) == b"x" * 100
    with pytest.raises(ImageTooLarge):
        read_image_bytes(str(tmp_path / "f.bin"), max_bytes=99)


# --- derived views' aspect and size ----------------------------------------------------------


class _Shape:
    def __init__(self, width, height):
        self.width, self.height, self.metadata = width, height, {}


@pytest.mark.parametrize("width, height, usable", [
    (40, 60_000, False), (60_000, 40, False), (100, 400, True), (100, 401, False), (400, 100, True), (401, 100, False),
])
def test_images_beyond_the_aspect_cap_are_not_used_by_single_image_tasks(width, height, usable):
    assert derivable(_Shape(width, height)) is usable


def test_scale_blur_views_of_a_40_by_60000_strip_are_capped_on_both_sides():
    views = scale_blur.derive(_Shape(40, 60_000), random.Random(0))
    assert {tuple(v["size"]) for v in views} == {(384, 1536)}


def test_group_contexts_leaves_elongated_images_out_of_derived_tasks():
    images = [_Shape(40, 60_000), _Shape(640, 480)]
    for i, image in enumerate(images):
        image.id, image.uri = f"{i:064x}", f"img{i}.png"
    fn = MakeContexts({}, 1, {"target_images": 6, "derive_share": 1.0})
    fn.unused, fn.elongated = _Counter(), _Counter()
    contexts = fn._derived(TASKS["scale_blur"], "g", images)
    assert [{slot.image.uri for slot in context} for context in contexts] == [{"img1.png"}]
    assert fn.elongated.count == 1


class _Counter:
    count = 0

    def inc(self, n=1):
        self.count += n


@pytest.mark.parametrize("seed, code", [("10000000000000000000000000000000000000000", 2), ("-1", 2), ("abc", 2)])
def test_a_seed_given_on_the_command_line_outside_the_schemas_range_is_refused(capsys, seed, code):
    """--seed overrides the manifest's seed after the schema check, so it is checked on its own."""
    from pipeline.cli import main
    with pytest.raises(SystemExit) as raised:
        main(["build", "--seed", seed, "--output", "unused"])
    assert raised.value.code == code
    assert "argument --seed" in capsys.readouterr().err.splitlines()[-1]


@pytest.mark.parametrize("kind, name", [("mot", "gt/gt.txt"), ("mot", "seqinfo.ini"), ("views", "transforms.json")])
def test_a_mot_or_nerf_file_over_the_metadata_size_is_refused_unread(tmp_path, kind, name):
    """MOT's gt.txt and seqinfo.ini and a NeRF scene's transforms.json obey the same 1 GiB limit as
    a sidecar: the source is refused before the file is read."""
    folder = tmp_path / "seq"
    _photos(folder / "img1", "000001.jpg")
    (folder / "gt").mkdir()
    (folder / "seqinfo.ini").write_text("[Sequence]\nname=S\nimDir=img1\nframeRate=4\nseqLength=1\nimWidth=160\n"
                                        "imHeight=120\nimExt=.jpg\n")
    (folder / "gt" / "gt.txt").write_text("1,1,10,10,20,20,1,1,1\n")
    (folder / "transforms.json").write_text('{"frames": []}')
    with open(folder / name, "r+b") as f:   # 2^30 + 1 bytes, nearly all a hole on disk
        f.truncate(2 ** 30 + 1)
    location = folder / "transforms.json" if kind == "views" else folder
    with pytest.raises(SourceUnusable) as raised:
        list(list_source(_source(tmp_path, kind, location)))
    assert raised.value.reason == "unreadable_source"
    assert str(raised.value) == f"{folder / name}: 1,073,741,825 bytes, larger than 1,073,741,824 for a metadata file"


def test_a_video_source_that_is_a_fifo_is_rejected_without_opening_it(tmp_path):
    """A FIFO named as a video would stall the decoder that opens it: the video is refused as
    unreadable_video with the reason, the listing ends."""
    fifo = tmp_path / "clip.mp4"
    os.mkfifo(fifo)
    refs, rejects = _listed(_source(tmp_path, "video", fifo))
    assert refs == {}
    assert rejects == [("clip.mp4", "unreadable_video",
                        f"UnsafeFile: {fifo} is not a regular file (a FIFO, device or socket), not an image file")]
