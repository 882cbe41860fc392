"""Reading sidecar metadata (``metadata.jsonl``): one validated object per image."""
import json

from apache_beam.io.filesystems import FileSystems

from ..schemas import validator


def parse_metadata_line(line: str):
    """Return (parsed object or None, problem or None) for one JSONL line."""
    try:
        record = json.loads(line)
    except ValueError as exc:
        return None, f"not valid JSON ({exc.msg})"
    errors = sorted(validator("source_metadata").iter_errors(record), key=lambda e: list(e.absolute_path))
    if errors:
        where = ".".join(str(p) for p in errors[0].absolute_path) or "(top level)"
        return record, f"{where}: {errors[0].message}"
    return record, None


def read_sidecar(path: str):
    """Yield (line number, parsed object, problem) for each non-blank line of ``path``."""
    if not FileSystems.exists(path):
        return
    with FileSystems.open(path) as f:
        for number, raw in enumerate(f, start=1):
            line = raw.decode("utf-8", errors="replace").strip()
            if line:
                yield (number, *parse_metadata_line(line))
