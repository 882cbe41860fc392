"""Row groups close by rows or by the bytes of the images they hold, counted at the schema's
binary columns only."""
from pipeline.output import parquet
from pipeline.output.parquet import binary_size, row_groups

SAMPLE_BINARY = [["images", "list", "element", "bytes"]]


def test_binary_size_counts_the_image_bytes_at_the_schemas_binary_columns():
    row = {"id": "x" * 500, "images": [{"bytes": b"a" * 300, "path": "p" * 40}, {"bytes": None, "path": "q"},
                                       {"bytes": b"b" * 7, "path": "r"}],
           "steps": {"caption": "c" * 1000}, "image_facts": [{"uri": "u" * 90}]}
    assert binary_size(row, SAMPLE_BINARY) == 307
    assert binary_size({"sha256": "s", "image": {"bytes": b"z" * 11, "path": "n"}}, [["image", "bytes"]]) == 11
    assert binary_size({"images": []}, SAMPLE_BINARY) == 0
    assert binary_size(row, []) == 0


def test_row_groups_close_at_the_row_count_or_the_byte_budget(monkeypatch):
    monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", 3)
    monkeypatch.setattr(parquet, "ROW_GROUP_BYTES", 100)
    sizes = [10, 10, 10, 10, 95, 10, 200, 1, 1]
    groups = list(row_groups(range(len(sizes)), lambda i: sizes[i]))
    # 3 rows; then 10 + 95 passes 100; then 10 + 200; then the last two.
    assert groups == [[0, 1, 2], [3, 4], [5, 6], [7, 8]]
