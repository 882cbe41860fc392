"""A manifest is checked before any work starts; a bad one gives one line naming the key."""
import subprocess
import sys

import pytest
from apache_beam.options.pipeline_options import StandardOptions

from pipeline.manifest import ManifestError, load_manifest
from pipeline.run import BuildError, beam_options
from tests.conftest import ROOT


def _write(tmp_path, text):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return str(path)


GOOD = """sources:
  - {name: a, kind: folder, location: imgs, licence: CC0-1.0, attribution: me}
"""


def test_defaults_come_from_the_schema(tmp_path):
    manifest = load_manifest(_write(tmp_path, GOOD))
    assert manifest.dedup["threshold"] == 8
    assert manifest.grouping["target_images"] == 6
    assert manifest.sources[0].dedup_scope == "global"
    assert manifest.sources[0].location == str(tmp_path / "imgs")


@pytest.mark.parametrize("text, expected", [
    (GOOD.replace("licence", "licnce"), "sources.0: unknown key 'licnce'"),
    (GOOD + "dedupe: {threshold: 3}\n", "(top level): unknown key 'dedupe'"),
    (GOOD + "dedup: {threshold: 99}\n", "dedup.threshold: 99 is greater than the maximum of 64"),
    ("sources: []\n", "sources: [] should be non-empty"),
    ("name: x\n", "(top level): 'sources' is a required property"),
    ("sources: [\n", "not valid YAML"),
])
def test_bad_manifest_names_the_key(tmp_path, text, expected):
    with pytest.raises(ManifestError) as caught:
        load_manifest(_write(tmp_path, text))
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_cli_fails_fast_with_one_line(tmp_path):
    path = _write(tmp_path, GOOD.replace("kind", "knd"))
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "build", "--manifest", path,
                           "--output", str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mir: sources.0: unknown key 'knd' (allowed: ")
    assert not (tmp_path / "out").exists()


def test_beam_options_are_checked_and_the_local_runner_is_fixed():
    """Without --runner a build runs on Beam's FnApiRunner, never on a runner Beam would
    download at run time (Prism); a runner that is asked for is kept; a typo is an error."""
    assert beam_options([]).view_as(StandardOptions).runner == "FnApiRunner"
    assert beam_options(["--runner", "DataflowRunner"]).view_as(StandardOptions).runner == "DataflowRunner"
    with pytest.raises(BuildError, match="unknown option --colour"):
        beam_options(["--colour", "red"])
