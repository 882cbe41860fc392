"""Untrusted data never writes, hangs or leaks through `mir convert`, `mir preview`, `mir export`
and `mir validate` (issue 24): names from data checked before they become paths, planted links
never written through, images re-read only from regular files, shards judged before export, and
text from data escaped on the terminal."""
import copy
import hashlib
import json
import math
import os
import pathlib
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.cli import main
from pipeline.output.arrow_schema import arrow_schema
from tests.mir_fixtures import dump, jpeg_bytes, json_sample, mir_record, sample_record, write_images

VICTIM_BYTES = b"export PATH=/usr/bin  # the victim's own bytes\n"
# Runs one mir command in a fresh interpreter, so a hang or a runaway read cannot take the suite with it.
_MIR = "import sys; from pipeline.cli import main; sys.exit(main(sys.argv[1:]))"
REPO = pathlib.Path(__file__).resolve().parent.parent


def mir_subprocess(*argv, timeout=180):
    return subprocess.run([sys.executable, "-c", _MIR, *map(str, argv)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def victim(tmp_path) -> pathlib.Path:
    path = tmp_path / "victim" / ".bashrc"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(VICTIM_BYTES)
    return path


def two_samples() -> list:
    """Two valid samples of one task and split (test), with distinct ids and images."""
    first = sample_record()
    second = sample_record(count=2)
    second["id"] = "location_relationship-1111111111111111"
    second["options"] = second["options"][:2]
    return [first, second]


def write_build(out: pathlib.Path, records: list) -> pathlib.Path:
    """``records`` as the one shard of a build's output folder (what preview and export read)."""
    shard = out / "data" / "location_relationship" / "test-00000-of-00001.parquet"
    shard.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(records, schema=arrow_schema("sample")), shard)
    return out


def files_under(folder: pathlib.Path) -> set:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


# ------------------------------------------------------------------ planted links, not followed

def test_convert_to_mir_never_writes_through_a_link_planted_in_the_images_folder(tmp_path, capsys):
    target = victim(tmp_path)
    record = sample_record()
    path = dump(tmp_path / "contrib" / "samples.json", [json_sample(record)])
    images = tmp_path / "contrib" / "images"
    images.mkdir()
    for data in {im["bytes"] for im in record["images"]}:
        sha256 = hashlib.sha256(data).hexdigest()
        (images / f"{sha256}.jpg.tmp").symlink_to(target)   # the old writer opened this name
        (images / f"{sha256}.jpg").symlink_to(target)       # and this one, were it "there already"
    assert main(["convert", "--to", "mir", str(path), str(tmp_path / "contrib" / "mir.json")]) == 0
    capsys.readouterr()
    assert target.read_bytes() == VICTIM_BYTES
    for data in {im["bytes"] for im in record["images"]}:
        written = images / f"{hashlib.sha256(data).hexdigest()}.jpg"
        assert not written.is_symlink() and written.read_bytes() == data


def test_convert_never_writes_through_a_link_planted_at_its_output(tmp_path, capsys):
    target = victim(tmp_path)
    path = dump(tmp_path / "in.json", [json_sample(sample_record())])
    (tmp_path / "out.jsonl").symlink_to(target)
    assert main(["convert", "--to", "sample", str(path), str(tmp_path / "out.jsonl")]) == 0
    capsys.readouterr()
    assert target.read_bytes() == VICTIM_BYTES
    assert not (tmp_path / "out.jsonl").is_symlink()
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 1


def test_preview_never_writes_through_a_link_planted_in_its_images_folder(tmp_path):
    # The writer itself, below the command's check of its output folder (which refuses such a
    # folder outright): each file is a fresh one renamed over the link.
    from pipeline.readback.gallery import write_preview
    target = victim(tmp_path)
    records = two_samples()
    out = write_build(tmp_path / "out", records)
    planted = out / "preview" / "images" / f"{records[0]['image_facts'][0]['sha256']}.jpg"
    planted.parent.mkdir(parents=True)
    planted.symlink_to(target)
    (out / "preview" / "location_relationship.html").symlink_to(target)
    written = write_preview(str(out), str(out / "preview"))
    assert (written["samples"], written["images"], written["left_out"]) == (2, 3, 0)
    assert target.read_bytes() == VICTIM_BYTES
    assert not planted.is_symlink() and planted.read_bytes() == records[0]["images"][0]["bytes"]
    assert "<!DOCTYPE html>" in (out / "preview" / "location_relationship.html").read_text()


def test_export_never_writes_through_links_planted_beside_its_output(tmp_path):
    from pipeline.readback.curriculum import export_curriculum
    target = victim(tmp_path)
    records = two_samples()
    out = write_build(tmp_path / "out", records)
    export = tmp_path / "export"
    (export / "c_images").mkdir(parents=True)
    (export / "c_images" / f"{records[0]['image_facts'][0]['sha256']}.jpg").symlink_to(target)
    (export / "c.jsonl").symlink_to(target)
    (export / "c.jsonl.mir-partial").symlink_to(target)
    written = export_curriculum(str(out), str(export / "c.jsonl"), "llava", "test")
    assert (written["records"], written["images"], written["left_out"]) == (10, 3, 0)
    assert target.read_bytes() == VICTIM_BYTES
    assert not (export / "c.jsonl").is_symlink()
    assert len((export / "c.jsonl").read_text().splitlines()) == 10   # 2 samples x 5 stages


# ----------------------------------------------------------- a sha256 from data is no file name

def test_a_sha256_that_is_a_path_writes_nothing_outside_and_leaves_its_sample_out(tmp_path, capsys):
    records = two_samples()
    records[0]["image_facts"][0]["sha256"] = "../../X"
    out = write_build(tmp_path / "work" / "out", records)
    before = files_under(tmp_path)

    assert main(["preview", str(out)]) == 1
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert line.startswith("mir: ") and "location_relationship-0123456789abcdef" in line
    assert "image_facts[0].sha256" in line
    assert captured.out.endswith("; 1 invalid samples left out\n")

    export = tmp_path / "work" / "export" / "c.jsonl"
    assert main(["export", "curriculum", str(out), "--format", "swift", "--split", "test",
                 "--output", str(export)]) == 1
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert "location_relationship-0123456789abcdef" in line and "image_facts[0].sha256" in line
    assert [json.loads(r)["images"] for r in export.read_text().splitlines()][0] == [
        f"c_images/{records[1]['image_facts'][i]['sha256']}.jpg" for i in range(2)]

    # Nothing named X anywhere; everything new sits in the two outputs.
    new = files_under(tmp_path) - before
    assert not any("X" in pathlib.Path(name).name for name in new)
    assert all(name.startswith(("work/out/preview", "work/export")) for name in new)


def test_image_files_refuse_a_sha256_that_is_not_64_hex(tmp_path):
    from pipeline.readback.shards import ImageError, ImageFiles
    record = sample_record()
    facts = dict(record["image_facts"][0], sha256="../../X")
    with pytest.raises(ImageError, match="is not 64 lowercase hex characters"):
        ImageFiles(str(tmp_path / "root"), "images").name(record["images"][0], facts)
    assert files_under(tmp_path) == set()


# --------------------------------------------------------- re-reads: regular files, capped

def _referencing(records: list, uri: str) -> list:
    """``records`` with the first sample's first image not embedded: read again from ``uri``."""
    records = copy.deepcopy(records)
    records[0]["images"][0].update(bytes=None, path=uri)
    records[0]["image_facts"][0]["uri"] = uri
    return records


def test_preview_of_an_image_at_dev_zero_fails_fast_with_one_line(tmp_path):
    out = write_build(tmp_path / "out", _referencing(two_samples(), "/dev/zero"))
    done = mir_subprocess("preview", out)
    assert done.returncode == 1
    assert done.stderr == "mir: /dev/zero is not a regular file (a FIFO, device or socket), not an image file\n"


def test_export_of_an_image_at_a_fifo_fails_fast_with_one_line(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    out = write_build(tmp_path / "out", _referencing(two_samples(), str(fifo)))
    done = mir_subprocess("export", "curriculum", out, "--format", "swift", "--split", "test",
                          "--output", tmp_path / "c.jsonl")
    assert done.returncode == 1
    assert done.stderr == f"mir: {fifo} is not a regular file (a FIFO, device or socket), not an image file\n"
    assert not (tmp_path / "c.jsonl").exists()


def test_an_image_read_again_may_not_be_a_folder(tmp_path, capsys):
    (tmp_path / "folder.jpg").mkdir()
    out = write_build(tmp_path / "out", _referencing(two_samples(), str(tmp_path / "folder.jpg")))
    assert main(["preview", str(out)]) == 1
    assert capsys.readouterr().err == f"mir: {tmp_path / 'folder.jpg'} is a folder, not an image file\n"


def test_read_regular_caps_the_size(tmp_path):
    from pipeline.safe_files import UnsafeFile, read_regular
    (tmp_path / "big.jpg").write_bytes(b"x" * 101)
    assert read_regular(str(tmp_path / "big.jpg"), 101) == b"x" * 101
    with pytest.raises(UnsafeFile, match="101 bytes, over the 100-byte limit"):
        read_regular(str(tmp_path / "big.jpg"), 100)


def test_convert_to_sample_refuses_a_symlink_that_leaves_the_images_root(tmp_path, capsys):
    outside = tmp_path / "private" / "secret.jpg"
    outside.parent.mkdir()
    outside.write_bytes(jpeg_bytes(7))
    names = write_images(tmp_path / "contrib" / "images", count=2)
    (tmp_path / "contrib" / "images" / "link.jpg").symlink_to(outside)
    images = [f"images/{n}" for n in names] + ["images/link.jpg"]
    path = dump(tmp_path / "contrib" / "mir.json", [mir_record(images, task="location_relationship")])
    assert main(["convert", "--to", "sample", str(path), str(tmp_path / "s.jsonl")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "1 records, 0 converted, 1 not converted"
    assert out[0] == (f"{path}:0: $.images[2]: 'images/link.jpg' is a symlink (or a path through one) to {outside}, "
                      f"outside the images root {tmp_path / 'contrib'}")
    assert (tmp_path / "s.jsonl").read_text() == ""
    # A link that stays inside the root is an ordinary file, as in a build's source.
    (tmp_path / "contrib" / "images" / "link.jpg").unlink()
    (tmp_path / "contrib" / "images" / "link.jpg").symlink_to(tmp_path / "contrib" / "images" / names[0])
    assert main(["convert", "--to", "sample", str(path), str(tmp_path / "s.jsonl")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 records, 1 converted, 0 not converted"


# ------------------------------------------------------------- text from data on the terminal

def test_ansi_escapes_and_bidi_controls_in_a_file_name_are_escaped_by_validate(tmp_path, capsys):
    bad = tmp_path / "contrib" / "ok\x1b[2J\x1b[32mall valid\x1b[0m\u202etxt.json"
    bad.parent.mkdir()
    bad.write_text("{")
    assert main(["validate", str(tmp_path / "contrib")]) == 2
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    shown = str(tmp_path / "contrib") + "/ok\\x1b[2J\\x1b[32mall valid\\x1b[0m\\u202etxt.json"
    assert out.splitlines()[0].startswith(f"{shown}:0: $: ")


def test_ansi_escapes_in_a_file_name_are_escaped_by_convert(tmp_path, capsys):
    bad = tmp_path / "in\x1b]0;owned\x07\r.json"
    bad.write_text("[1]")
    assert main(["convert", "--to", "sample", str(bad), str(tmp_path / "s.jsonl")]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert out.splitlines()[0].startswith(f"{tmp_path}/in\\x1b]0;owned\\x07\\r.json:0: $: ")


def test_control_characters_from_a_shard_are_escaped_by_export_and_preview(tmp_path, capsys):
    records = two_samples()
    records[0]["id"] = "location_relationship-\x1b[2J\u202e"
    records[0]["answer"] = "Z"
    out = write_build(tmp_path / "out", records)
    assert main(["export", "curriculum", str(out), "--format", "swift", "--split", "test",
                 "--output", str(tmp_path / "c.jsonl")]) == 1
    assert main(["preview", str(out)]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\u202e" not in err
    assert err.count("'location_relationship-\\x1b[2J\\u202e'") == 2


def test_one_line_escapes_every_character_a_terminal_acts_on():
    from pipeline.commands import one_line
    assert one_line("a\x1b[31mb\nc\rd\te\x00f\x7fg\x9bh\u2028i\u202ej\u2066k\udcffl é 日本") == \
        "a\\x1b[31mb\\nc\\rd\\te\\x00f\\x7fg\\x9bh\\u2028i\\u202ej\\u2066k\\udcffl é 日本"


# ----------------------------------------------------- export judges Parquet as validate does

def test_a_hand_edited_shard_with_a_nan_box_and_answer_z_is_not_exported(tmp_path, capsys):
    records = two_samples()
    records[0]["reasoning"]["text2region"][0]["bbox"] = [math.nan, 0.2, 0.5, 0.6]
    records[0]["answer"] = "Z"
    out = write_build(tmp_path / "out", records)
    assert main(["export", "curriculum", str(out), "--format", "llava", "--split", "test",
                 "--output", str(tmp_path / "c.jsonl")]) == 1
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert line.startswith(f"mir: {out}/data/location_relationship/test-00000-of-00001.parquet:0: $.")
    assert line.endswith(" (sample 'location_relationship-0123456789abcdef' left out, and 1 more problems)")
    assert captured.out.startswith("5 records (1 samples x 5 stages; 1 easy)")
    assert captured.out.endswith("; 1 invalid samples left out\n")
    exported = {json.loads(r)["id"].split(":")[0] for r in (tmp_path / "c.jsonl").read_text().splitlines()}
    assert exported == {"location_relationship-1111111111111111"}


# ------------------------------------------------------------------ a full disk

_FULL_DISK = """
import resource, sys
resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))   # no file may grow past 300 bytes
from pipeline.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", ["export", "preview"])
def test_a_full_disk_ends_export_and_preview_with_exit_2_and_no_truncated_image(tmp_path, command):
    """Writing stops at the first file that cannot grow: exit 2 and one line naming the output,
    and no image file is left short under its sha256 name (each file is written aside first)."""
    out = write_build(tmp_path / "out", two_samples())
    dest = tmp_path / "dest"
    argv = (["export", "curriculum", out, "--format", "llava", "--split", "test", "--output", dest / "c.jsonl"]
            if command == "export" else ["preview", out, "--output", dest])
    done = subprocess.run([sys.executable, "-c", _FULL_DISK, *map(str, argv)], capture_output=True, text=True,
                          timeout=180, cwd=REPO)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mir: cannot write {dest}") and "File too large" in lines[0]
    for image in dest.rglob("*.*"):
        name = image.name.split(".")[0]
        if len(name) == 64:
            assert hashlib.sha256(image.read_bytes()).hexdigest() == name
    assert not (dest / "c.jsonl").exists()
