"""Where mir writes, on a shared machine and against an unlucky or hostile user: one build per OUT
at a time, no output that is a file, a link, a stranger's folder or a folder inside a source,
exit 2 with one line for environment errors (full disk, read-only output, unknown schemes)
and nothing left beside OUT after a failure; the card's name one escaped line."""
import errno
import fcntl
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

from pipeline.cli import main
from pipeline.output import publish
from pipeline.output.card import render_card
from pipeline.output.publish import MARKER, STAGING_TAG
from tests.test_publish import leftovers as beside, tree

ROOT = pathlib.Path(__file__).resolve().parent.parent
# A build that stops just before it publishes, until the file GO exists: a live build the test
# holds at a known point (its lock taken, its staging folder written).
HELD_BUILD = """
import pathlib, sys, time
from pipeline.output import publish
ready, go = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
real = publish.publish
def held(staging, out):
    ready.with_suffix(".partial").write_text(staging)
    ready.with_suffix(".partial").rename(ready)   # whole when it appears: the test reads it at once
    for _ in range(6000):
        if go.exists():
            break
        time.sleep(0.05)
    real(staging, out)
publish.publish = held
from pipeline.cli import main
sys.exit(main(["build", "--manifest", sys.argv[3], "--output", sys.argv[4], "--quiet"]))
"""


def build(capsys, manifest, out, *extra) -> tuple:
    code = main(["build", "--manifest", str(manifest), "--output", str(out), "--quiet", *extra])
    return code, capsys.readouterr().err


def one_line_error(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("mir: ") and "Traceback" not in err


def wait_for(path: pathlib.Path, process) -> None:
    while not path.exists():
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)


def test_a_second_build_into_the_same_out_is_refused_and_the_running_one_completes(capsys, photo_manifest, tmp_path):
    out, ready, go = tmp_path / "out", tmp_path / "ready", tmp_path / "go"
    first = subprocess.Popen([sys.executable, "-c", HELD_BUILD, str(ready), str(go), str(photo_manifest), str(out)],
                             cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        wait_for(ready, first)
        staging = pathlib.Path(ready.read_text())
        held = tree(staging)
        code, err = build(capsys, photo_manifest, out)
        assert code == 2 and one_line_error(err) and "another mir build" in err and str(out) in err
        assert tree(staging) == held          # the running build's staging folder is untouched
        go.write_text("go")
        stdout, stderr = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, stderr
    assert (out / MARKER).exists() and beside(out) == []


def test_recover_leaves_a_live_builds_staging_folder_and_clears_a_dead_ones(tmp_path):
    out = tmp_path / "out"
    staging = tmp_path / "out.mir-staging-0123456789ab"
    staging.mkdir()
    (staging / STAGING_TAG).write_text("in progress")
    (staging / "half.parquet").write_bytes(b"half")
    holder = os.open(staging / STAGING_TAG, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)            # as the live build holding it does
    publish.recover(str(out))
    assert sorted(p.name for p in staging.iterdir()) == [STAGING_TAG, "half.parquet"]
    os.close(holder)                              # the build died: the kernel drops its lock
    publish.recover(str(out))
    assert not staging.exists()


def test_a_lock_a_dead_build_left_is_taken_over(capsys, photo_manifest, tmp_path):
    out = tmp_path / "out"
    (tmp_path / "out.mir-lock").write_text("999999999\n")
    code, err = build(capsys, photo_manifest, out)
    assert code == 0, err
    assert (out / MARKER).exists() and beside(out) == []


def test_an_out_that_is_a_file_is_refused_and_left_alone(capsys, photo_manifest, tmp_path):
    out = tmp_path / "notes.txt"
    out.write_text("my notes")
    code, err = build(capsys, photo_manifest, out)
    assert code == 2 and one_line_error(err) and "is not a folder" in err
    assert out.read_text() == "my notes" and beside(out) == []


def test_an_out_that_is_a_symlink_is_refused_and_its_target_left_alone(capsys, photo_manifest, tmp_path):
    target = tmp_path / "other_disk"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    out = tmp_path / "out"
    out.symlink_to(target)
    code, err = build(capsys, photo_manifest, out)
    assert code == 2 and one_line_error(err) and "symbolic link" in err
    assert out.is_symlink() and os.readlink(out) == str(target)
    assert tree(target) == {"keep.txt": hashlib.sha256(b"keep").hexdigest()} and beside(out) == []


def test_an_out_holding_only_a_folder_link_is_refused_and_the_link_kept(capsys, photo_manifest, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "shared").symlink_to(elsewhere)
    code, err = build(capsys, photo_manifest, out)
    assert code == 2 and one_line_error(err) and "'shared'" in err
    assert sorted(p.name for p in out.iterdir()) == ["shared"] and os.readlink(out / "shared") == str(elsewhere)
    assert beside(out) == []


def test_an_out_inside_a_source_folder_is_refused(capsys, photo_manifest, photo_folder):
    out = photo_folder / "built"
    before = tree(photo_folder)
    code, err = build(capsys, photo_manifest, out)
    assert code == 2 and one_line_error(err) and "inside source 'photos'" in err
    assert not out.exists() and tree(photo_folder) == before and beside(out) == []


@pytest.fixture
def built(capsys, photo_manifest, tmp_path) -> pathlib.Path:
    out = tmp_path / "out"
    assert build(capsys, photo_manifest, out)[0] == 0
    return out


def test_preview_into_a_folder_holding_a_users_index_html_is_refused(capsys, built, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>my home page</h1>")
    assert main(["preview", str(built), "--output", str(site)]) == 2
    assert one_line_error(capsys.readouterr().err)
    assert sorted(p.name for p in site.iterdir()) == ["index.html"]
    assert (site / "index.html").read_text() == "<h1>my home page</h1>"
    # Its own previous pages it writes again, into the default OUT/preview too.
    for _ in range(2):
        assert main(["preview", str(built), "--limit", "1"]) == 0
    assert (built / "preview" / "index.html").exists()
    # A link planted among them is refused before anything is written through it.
    victim = tmp_path / "victim.txt"
    victim.write_text("victim")
    first_image = sorted((built / "preview" / "images").iterdir())[0]
    first_image.unlink()
    first_image.symlink_to(victim)
    assert main(["preview", str(built), "--limit", "1"]) == 2
    assert one_line_error(capsys.readouterr().err) and victim.read_text() == "victim"


def test_export_next_to_a_strangers_images_folder_or_through_a_link_is_refused(capsys, built, tmp_path):
    argv = ["export", "curriculum", str(built), "--format", "llava"]
    (tmp_path / "train_images").mkdir()
    (tmp_path / "train_images" / "holiday.jpg").write_bytes(b"my photo")
    assert main([*argv, "--output", str(tmp_path / "train.jsonl")]) == 2
    assert one_line_error(capsys.readouterr().err)
    assert sorted(p.name for p in (tmp_path / "train_images").iterdir()) == ["holiday.jpg"]
    assert not (tmp_path / "train.jsonl").exists()
    victim = tmp_path / "victim.txt"
    victim.write_text("victim")
    (tmp_path / "linked.jsonl").symlink_to(victim)
    assert main([*argv, "--output", str(tmp_path / "linked.jsonl")]) == 2
    assert one_line_error(capsys.readouterr().err) and victim.read_text() == "victim"
    assert main([*argv, "--output", str(tmp_path / "fresh.jsonl")]) == 0
    assert main([*argv, "--output", str(tmp_path / "fresh.jsonl")]) == 0     # its own previous export


FULL_DISK_BUILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))   # no file may grow past 20 kB
from pipeline.cli import main
sys.exit(main(["build", "--manifest", sys.argv[1], "--output", sys.argv[2], "--quiet"]))
"""


def test_a_full_disk_exits_2_with_one_line_and_leaves_no_staging_folder(photo_manifest, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", FULL_DISK_BUILD, str(photo_manifest), str(out)], cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=600)
    assert done.returncode == 2, done.stderr
    assert one_line_error(done.stderr) and "File too large" in done.stderr and str(out) in done.stderr
    assert not out.exists() and beside(out) == []


def test_a_read_only_output_exits_2_with_one_line_and_leaves_nothing(capsys, photo_manifest, tmp_path, monkeypatch):
    from apache_beam.io.localfilesystem import LocalFileSystem

    def read_only(self, path, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", path)
    monkeypatch.setattr(LocalFileSystem, "create", read_only)
    out = tmp_path / "out"
    code, err = build(capsys, photo_manifest, out)
    assert code == 2 and one_line_error(err) and "Read-only file system" in err
    assert not out.exists() and beside(out) == []


@pytest.mark.parametrize("location", ["s3://bucket/out", "http://example.invalid/out"])
def test_an_output_scheme_no_filesystem_serves_exits_2_naming_it(capsys, photo_manifest, location):
    code, err = build(capsys, photo_manifest, location)
    assert code == 2 and one_line_error(err) and location in err


def test_the_cards_name_is_one_escaped_line(built):
    report = json.loads((built / "report.json").read_text())
    report["dataset"] = "Nice set\n</h1><script>alert(1)</script>\n# Not a heading\r\n[click](x) | *bold*"
    card = render_card(report, [])
    headings = [line for line in card.splitlines() if line.startswith("# ")]
    assert headings == ["# Nice set &lt;/h1&gt;&lt;script&gt;alert(1)&lt;/script&gt; \\# Not a heading "
                        "\\[click\\](x) \\| \\*bold\\*"]
    assert "<script>" not in card and "\n# Not a heading" not in card
    front = card.split("---\n")[1].splitlines()
    assert front[0] == ("pretty_name: 'Nice set &lt;/h1&gt;&lt;script&gt;alert(1)&lt;/script&gt; # Not a heading "
                        "[click](x) | *bold*'")


def test_a_truncated_shard_given_to_preview_or_export_exits_2_naming_it(capsys, built, tmp_path):
    shard = sorted((built / "data").glob("*/*.parquet"))[0]
    data = shard.read_bytes()
    shard.write_bytes(data[:len(data) // 2])
    for argv in (["preview", str(built), "--output", str(tmp_path / "site")],
                 ["export", "curriculum", str(built), "--format", "llava", "--output", str(tmp_path / "c.jsonl")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert one_line_error(err) and str(shard) in err and "not a readable Parquet shard" in err
