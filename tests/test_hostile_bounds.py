"""Bounds where hostile or unlucky input can grow (issue 24, must-haves 3, 4's BOMs and 7's pin):
YAML aliases and nesting, sidecar line and file sizes, bytes read at decode, frame counts, the
seed's range, derived views' aspect and size, near-duplicate clustering of identical hashes, BOMs,
and boxes of zero width or height. Memory is measured in a subprocess (ru_maxrss), never time."""
import subprocess
import sys

import pytest


from pipeline.manifest import ManifestError, load_manifest
from pipeline.images.near_duplicates import Copy, HashTable, Row, cluster_keepers, near_duplicate_links
from pipeline.stages.deduplicate import MergeLinks
from tests.conftest import ROOT


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
