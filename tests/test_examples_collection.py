"""Checks on the bundled sample collection under examples/ (made by scripts/make_examples.py)."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SCHEMA_PATH = ROOT / "schemas" / "source_metadata.schema.json"
SIDECARS = sorted(EXAMPLES.glob("*/metadata.jsonl"))
BROKEN = {EXAMPLES / "photos" / "broken.jpg"}
MAX_BYTES = 15 * 1024 * 1024
EXPECTED_FOLDERS = {"photos", "sequences", "procedures", "charts", "views", "satire"}


def _records(sidecar: Path) -> list[dict]:
    with open(sidecar, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _all_records():
    for sidecar in SIDECARS:
        for rec in _records(sidecar):
            yield sidecar, rec


ALL = list(_all_records())
IDS = [f"{s.parent.name}/{r['file']}" for s, r in ALL]


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    # "$ref": "#/$defs/..." resolves against the schema document itself.
    return Draft202012Validator(schema)


def test_all_sources_present():
    assert {s.parent.name for s in SIDECARS} == EXPECTED_FOLDERS
    for folder in EXPECTED_FOLDERS:
        assert (EXAMPLES / folder / "SOURCE.md").is_file(), folder
    assert (EXAMPLES / "LICENSES.md").is_file()


@pytest.mark.parametrize("sidecar,rec", ALL, ids=IDS)
def test_line_validates(validator, sidecar, rec):
    errors = sorted(validator.iter_errors(rec), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


@pytest.mark.parametrize("sidecar", SIDECARS, ids=[s.parent.name for s in SIDECARS])
def test_sidecar_sorted_and_unique(sidecar):
    files = [r["file"] for r in _records(sidecar)]
    assert files == sorted(files)
    assert len(files) == len(set(files))


@pytest.mark.parametrize("sidecar,rec", ALL, ids=IDS)
def test_file_exists_and_decodes(sidecar, rec):
    path = sidecar.parent / rec["file"]
    assert path.is_file(), path
    if path in BROKEN:
        with pytest.raises(OSError):  # truncated: Pillow raises OSError (or its UnidentifiedImageError)
            with Image.open(path) as im:
                im.load()
        return
    with Image.open(path) as im:
        im.load()
        assert max(im.size) <= 640, (path, im.size)


@pytest.mark.parametrize("sidecar,rec", ALL, ids=IDS)
def test_boxes_well_formed(sidecar, rec):
    for region in rec.get("regions", []):
        x0, y0, x1, y1 = region["bbox"]
        assert 0 <= x0 < x1 <= 1, region
        assert 0 <= y0 < y1 <= 1, region


def test_every_image_file_has_metadata():
    for sidecar in SIDECARS:
        listed = {r["file"] for r in _records(sidecar)}
        on_disk = {p.relative_to(sidecar.parent).as_posix()
                   for p in sidecar.parent.rglob("*")
                   if p.suffix.lower() in {".jpg", ".jpeg", ".png"}}
        assert on_disk == listed, sidecar


def test_total_size():
    total = sum(p.stat().st_size for p in EXAMPLES.rglob("*") if p.is_file())
    assert total < MAX_BYTES, total


def test_sequence_tracks_move_monotonically():
    recs = _records(EXAMPLES / "sequences" / "metadata.jsonl")
    tracks: dict[tuple[str, str], list[tuple[float, list[float]]]] = defaultdict(list)
    seqs = defaultdict(list)
    for r in recs:
        seqs[r["sequence"]].append(r)
        for reg in r["regions"]:
            tracks[(r["sequence"], reg["attributes"]["track_id"])].append((r["timestamp"], reg["bbox"]))
    assert len(seqs) == 3
    for seq, frames in seqs.items():
        orders = sorted(f["order"] for f in frames)
        assert orders == list(range(len(frames))), seq
        assert 6 <= len(frames) <= 8, seq
        by_order = sorted(frames, key=lambda f: f["order"])
        ts = [f["timestamp"] for f in by_order]
        assert ts == sorted(ts) and len(set(ts)) == len(ts), seq
    moving = 0
    for key, pts in tracks.items():
        pts.sort(key=lambda p: p[0])
        for c in range(4):
            vals = [b[c] for _, b in pts]
            diffs = [b - a for a, b in zip(vals, vals[1:])]
            assert all(d >= -1e-9 for d in diffs) or all(d <= 1e-9 for d in diffs), (key, c, vals)
        if pts[0][1] != pts[-1][1]:
            moving += 1
    assert moving >= 5


def test_photos_have_physical_attributes():
    recs = [r for s, r in ALL if s.parent.name == "photos"]
    # at least 8 distinct photos (not counting duplicates) with depth, size and weight
    originals = [r for r in recs if not r["file"].startswith("dupes/")]
    full = Counter(
        r["group"] for r in originals
        if any({"depth_m", "real_size_m", "weight_kg"} <= reg.get("attributes", {}).keys()
               for reg in r.get("regions", [])))
    assert sum(full.values()) >= 8, full
    # every photo group can feed a depth, size and weight context of its own
    groups = {r["group"] for r in recs}
    assert len(groups) >= 2 and all(full[g] >= 4 for g in groups), full


def test_task_specific_fields():
    by_folder = defaultdict(list)
    for s, r in ALL:
        by_folder[s.parent.name].append(r)
    for r in by_folder["charts"]:
        assert r["tasks"] == ["chart_analysis"]
        assert len(r["data"]["columns"]) == 2 and all(len(row) == 2 for row in r["data"]["rows"])
    for r in by_folder["views"]:
        assert r["tasks"] == ["view_3d"] and "azimuth_deg" in r["camera"]
    for r in by_folder["satire"]:
        assert r["tasks"] == ["yes_but_satire"] and r["contrast"]
    for r in by_folder["procedures"]:
        assert r["tasks"] == ["cooking_process"] and "order" in r and r["sequence"]


# The charts plot generated tables (issue 23): fictional subjects, fixed-seed values, units stated.
CHART_GROUPS = {
    "stations": ("station", ["Aldermoss", "Brindlecote", "Cairnwhistle", "Dunmarrow", "Fellowgrave"]),
    "towns": ("town", ["Ebbercombe", "Orlanby", "Pellingrove", "Saltmire", "Wrenholt"]),
    "sales": ("month", ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]),
}
# Words of the famous tables the charts once plotted, which a text-only reader could answer from memory.
FAMOUS = ("iris", "setosa", "virginica", "versicolor", "petal", "sepal", "wine", "cultivar", "proline",
          "flavanoid", "aapl", "apple", "msft", "microsoft", "ibm", "adbe", "adobe", "stocks", "share price",
          "yahoo", "scikit-learn", "sklearn", "uci")


def _charts() -> list[dict]:
    return _records(EXAMPLES / "charts" / "metadata.jsonl")


def test_charts_plot_generated_tables_with_units():
    charts = _charts()
    assert Counter(r["group"] for r in charts) == {"stations": 6, "towns": 6, "sales": 6}
    for r in charts:
        entry, categories = CHART_GROUPS[r["group"]]
        assert r["data"]["columns"][0] == entry, r["file"]
        assert [row[0] for row in r["data"]["rows"]] == categories, r["file"]
        assert all(isinstance(row[1], (int, float)) and row[1] > 0 for row in r["data"]["rows"]), r["file"]
        attributes = r["attributes"]
        assert attributes["generated"] is True and attributes["dataset"] == r["group"]
        assert attributes["chart_type"] == ("line" if r["group"] == "sales" else "bar")
        assert attributes["y_label"].endswith(")") and " (" in attributes["y_label"], attributes["y_label"]
        assert r["licence"] == "CC0-1.0"
        text = json.dumps(r).lower()
        assert not [w for w in FAMOUS if w in text], (r["file"], [w for w in FAMOUS if w in text])
        with Image.open(EXAMPLES / "charts" / r["file"]) as im:
            assert im.size == (640, 480)


def test_chart_tables_are_the_seeded_ones():
    by_file = {r["file"]: r for r in _charts()}
    may = by_file["stations_rainfall_may.png"]
    assert may["data"] == {"title": "May rainfall by weather station", "columns": ["station", "rainfall_mm"],
                           "rows": [["Aldermoss", 89], ["Brindlecote", 50], ["Cairnwhistle", 38], ["Dunmarrow", 58],
                                    ["Fellowgrave", 151]]}
    assert may["attributes"]["y_label"] == "rainfall (mm)"
    loans = by_file["towns_library_loans.png"]
    assert loans["data"] == {"title": "Library loans by town", "columns": ["town", "loans_thousands"],
                             "rows": [["Ebbercombe", 19.9], ["Orlanby", 181.9], ["Pellingrove", 72.3],
                                      ["Saltmire", 50.3], ["Wrenholt", 24.6]]}
    assert loans["attributes"]["y_label"] == "library loans (thousands)"
    lamp = by_file["sales_corrow_desk_lamp.png"]
    assert lamp["data"] == {"title": "Monthly sales of the Corrow desk lamp", "columns": ["month", "units_sold"],
                            "rows": [["Jan", 1371], ["Feb", 1513], ["Mar", 2067], ["Apr", 2709], ["May", 1839],
                                     ["Jun", 1662]]}
    assert lamp["attributes"]["y_label"] == "sales (units)"
    assert {r["attributes"]["y_label"] for r in by_file.values() if r["group"] == "towns"} == {
        "library loans (thousands)", "bus boardings (per weekday)", "new homes completed (homes)",
        "cycle lanes (km)", "park area (hectares)", "household waste recycled (%)"}


def _above(a: float, b: float) -> bool:
    return a >= 1.05 * b   # chart_analysis: one value clearly exceeds another by 5%


def test_every_chart_group_can_be_asked_every_chart_question():
    """Each group (one context of the default build) has, by the chart_analysis rules: a category
    that clearly tops exactly one chart and clearly not any other (unique_top); a pair of charts,
    every place clear, where exactly one category places higher in the first, for two different
    categories (rank_rise); a ratio of two categories that is largest in one chart by 1.25x, for two
    different charts (largest_ratio)."""
    groups = defaultdict(list)
    for r in _charts():
        groups[r["group"]].append(dict(r["data"]["rows"]))
    for group, tables in groups.items():
        cats = list(tables[0])
        unique = [c for c in cats
                  if sum(all(_above(t[c], v) for k, v in t.items() if k != c) for t in tables) == 1
                  and sum(any(_above(v, t[c]) for v in t.values()) for t in tables) == len(tables) - 1]
        assert unique, group
        clear = [all(_above(a, b) for a, b in zip(sorted(t.values())[1:], sorted(t.values()))) for t in tables]
        places = [{c: k for k, c in enumerate(sorted(t, key=t.get, reverse=True))} for t in tables]
        rising = {tuple(c for c in cats if pa[c] < pb[c])
                  for a, pa in enumerate(places) for b, pb in enumerate(places) if a != b and clear[a] and clear[b]}
        assert len({r for r in rising if len(r) == 1}) >= 2, group
        winners = set()
        for x in cats:
            for y in cats:
                ratios = [t[x] / t[y] for t in tables]
                ranked = sorted(ratios, reverse=True)
                if x != y and ranked[0] >= 1.25 * ranked[1]:
                    winners.add(ratios.index(ranked[0]))
        assert len(winners) >= 2, group
