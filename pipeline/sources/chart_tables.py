"""A chart's data table from the CSV file shipped next to it (as chart-QA collections ship them).

Layout: an optional title line (a line holding one cell), then the header (the columns' names;
the first column names the entries, the second what they measure, often with its unit, e.g.
"Revenue (million USD)"), then one row per entry. Blank lines are skipped. A first column with no
name is an index (what pandas' ``to_csv`` writes) and is left out. A cell that reads as a finite
number (thousands may be grouped with commas: "1,234.5") becomes one; any other cell stays text
(the chart task compares numeric rows only).
"""
import csv
import io
import math
import re

MIN_COLUMNS = 2
_GROUPED = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")


class ChartTableProblem(Exception):
    """A CSV that cannot be read as a chart's table (detail: why, with the line)."""


def _cell(text: str):
    """A number when the cell is one (ints stay ints), else the text as it is, stripped."""
    text = text.strip()
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text   # "nan", "inf" are words here, not values


def _lines(text: str):
    """(line number, cells) of the non-blank CSV records."""
    reader = csv.reader(io.StringIO(text))
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ChartTableProblem(f"line {reader.line_num}: not a readable CSV line ({exc})") from None
        if any(cell.strip() for cell in cells):
            yield reader.line_num, cells


def read_chart_table(data: bytes) -> dict:
    """The table as source_metadata's ``data`` (``title`` only when the file has a title line)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ChartTableProblem(f"not valid UTF-8 (byte {exc.start})") from None
    lines = list(_lines(text))
    table = {}
    if len(lines) >= 2 and sum(1 for cell in lines[0][1] if cell.strip()) == 1 and len(lines[1][1]) >= MIN_COLUMNS:
        table["title"] = next(cell.strip() for cell in lines[0][1] if cell.strip())
        lines = lines[1:]
    if not lines:
        raise ChartTableProblem("no header line")
    number, header = lines[0]
    if not header[0].strip() and len(header) > MIN_COLUMNS:   # an unnamed index column
        lines = [(n, cells[1:]) for n, cells in lines]
        header = lines[0][1]
    columns = [cell.strip() for cell in header]
    if len(columns) < MIN_COLUMNS or not all(columns):
        raise ChartTableProblem(f"line {number}: the header needs {MIN_COLUMNS} or more named columns, has {header}")
    rows = []
    for number, cells in lines[1:]:
        while len(cells) > len(columns) and not cells[-1].strip():
            cells = cells[:-1]   # a trailing comma is not a cell
        if len(cells) != len(columns):
            raise ChartTableProblem(f"line {number}: {len(cells)} cells under a header of {len(columns)}")
        rows.append([_cell(cell) for cell in cells])
    if not rows:
        raise ChartTableProblem("a header and no rows")
    return {**table, "columns": columns, "rows": rows}
