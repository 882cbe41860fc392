"""Progress lines of the long stages (stages/progress.py) and what mir build shows on stderr:
progress lines unless --quiet, Beam's logging only at the --log-level asked for."""
import io
import os
import pathlib
import subprocess
import sys

from pipeline.stages.progress import BUILD_PROCESS, Progress

ROOT = pathlib.Path(__file__).resolve().parent.parent
STAGE_LINES = ("reading and hashing images: ", "drafting (grounded): ", "writing shards: ")


def test_a_line_says_done_of_total_rate_and_eta(monkeypatch):
    monkeypatch.setenv(BUILD_PROCESS, str(os.getpid()))
    progress = Progress("hashing", "images", 60, stream=io.StringIO())
    progress.expect(10)
    progress.advance(4)
    label, counts = progress.line().split(": ", 1)
    assert label == "hashing" and counts.startswith("4/10 images, ") and "/s, ETA " in counts
    progress.stop()


def test_a_worker_process_says_its_counts_are_its_own_share(monkeypatch):
    monkeypatch.setenv(BUILD_PROCESS, str(os.getpid() + 1))
    progress = Progress("hashing", "images", 60, stream=io.StringIO())
    progress.expect(10)
    progress.advance(3)
    line = progress.line()
    assert line.startswith(f"hashing: 3 images by worker process {os.getpid()} (its own share of 10)")
    assert "ETA" not in line
    progress.stop()


def test_the_ticker_prints_until_the_stage_is_done():
    stream = io.StringIO()
    progress = Progress("drafting", "contexts", 0.01, stream=stream)
    progress.expect(2)
    ticker = progress.ticker
    progress.advance(2)
    ticker.join(10)
    assert not ticker.is_alive() and progress.ticker is None
    assert stream.getvalue().splitlines()[-1].startswith("drafting: 2/2 contexts, ")


def test_a_worker_process_goes_quiet_when_its_share_stops_and_speaks_again_when_it_moves(monkeypatch):
    monkeypatch.setenv(BUILD_PROCESS, str(os.getpid() + 1))   # started by another process: a worker
    stream = io.StringIO()
    progress = Progress("hashing", "images", 0.01, stream=stream)
    progress.expect(10)
    progress.advance(3)                   # its share of 10 is 3: it never reaches the stage's total
    first = progress.ticker
    first.join(10)
    assert not first.is_alive() and progress.ticker is None
    lines = stream.getvalue().splitlines()
    counts = [int(line.split()[1]) for line in lines]   # never the same count twice in a row
    assert counts == sorted(set(counts)) and lines[-1].startswith(f"hashing: 3 images by worker process {os.getpid()}")
    progress.advance(1)                   # the next bundle: a new ticker, a new count
    second = progress.ticker
    second.join(10)
    assert second is not first and stream.getvalue().splitlines()[-1].startswith("hashing: 4 images by worker")
    progress.stop()


def mir_build(manifest, out, *flags) -> str:
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "build", "--manifest", str(manifest),
                           "--output", str(out), *flags], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def test_mir_build_prints_progress_on_every_long_stage_and_no_beam_chatter(photo_manifest, tmp_path):
    err = mir_build(photo_manifest, tmp_path / "out", "--progress-seconds", "0.05")
    lines = err.splitlines()
    for stage in STAGE_LINES:
        assert any(line.startswith(stage) and "/s, ETA " in line for line in lines), (stage, err)
    assert not [line for line in lines if line.startswith(("INFO", "WARNING", "DEBUG"))]


def test_quiet_silences_progress_and_log_level_shows_beam_logging(photo_manifest, tmp_path):
    err = mir_build(photo_manifest, tmp_path / "out", "--progress-seconds", "0.05", "--quiet", "--log-level", "info")
    lines = err.splitlines()
    assert not [line for line in lines if line.startswith(STAGE_LINES)]
    assert any(line.startswith("INFO apache_beam") for line in lines)
