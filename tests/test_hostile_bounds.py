"""Bounds where hostile or unlucky input can grow (issue 24, must-haves 3, 4's BOMs and 7's pin):
YAML aliases and nesting, sidecar line and file sizes, bytes read at decode, frame counts, the
seed's range, derived views' aspect and size, near-duplicate clustering of identical hashes, BOMs,
and boxes of zero width or height. Memory is measured in a subprocess (ru_maxrss), never time."""
import subprocess
import sys


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
