"""The samples ``mir export`` reads: a build's output folder, any folder of sample Parquet shards
(``data/<task>/*.parquet`` copied elsewhere, or a flat folder of them), or one file of samples
as ``mir convert --to sample`` writes it (.json list, .jsonl, .parquet).

Folders and Parquet files go through Beam's FileSystems (so they may be on gs://); .json and
.jsonl files are read by ``samples.safe_input`` (streamed, size-capped). Every sample, from a
Parquet shard as from a file, is judged as ``mir validate`` judges it (``judged``), since
nothing but its writer vouches for it: a shard may have been edited by hand or come from a
stranger. Samples come out as the shards hold them: image bytes as ``bytes``.
"""
import posixpath

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from ..samples.conversion import raw_image_bytes
from ..samples.judge import validate_record
from ..samples.mir_format import detect
from ..samples.safe_input import EXTENSIONS, Unreadable, read_records
from .shards import ShardsError, iter_samples, shard_paths, shard_split

# Columns every sample shard has and no other Parquet file of a build (images.parquet) has.
_SAMPLE_COLUMNS = {"id", "reasoning", "images", "image_facts"}
# Where sample shards sit in a folder that is not a build: in it, or one folder down.
_SHARD_PATTERNS = ("*.parquet", "*/*.parquet")


class InvalidSample(Exception):
    """A record of a samples file is not a valid sample; the message names it, in one line."""


def read_samples(source: str, split: str, left_out=None):
    """The valid samples of ``source`` in split ``split`` ("all": every split), in the order the
    shards or the file hold them. Raises ShardsError when ``source`` is missing, unreadable or
    holds no samples. An invalid sample is left out: ``left_out(message)`` hears why, in one
    line naming the file, the record and the sample's id; without ``left_out`` it raises
    InvalidSample instead."""
    kind = EXTENSIONS.get(posixpath.splitext(source)[1].lower())
    if kind in ("json", "jsonl"):
        records = _json_records(source, kind)
    else:
        records = (((path, row), sample) for path, row, sample in iter_samples(_parquet_paths(source, kind, split),
                                                                                 where=True))
    for (path, number), record in records:
        # Another split's sample is skipped unjudged; one without a split is judged (and left out).
        if split != "all" and isinstance(record, dict) and isinstance(record.get("split"), str) \
                and record["split"] != split:
            continue
        if isinstance(record, dict) and detect(record) == "mir":
            raise InvalidSample(f"{path}:{number}: a record in MIR's own format: convert the file first "
                                "(mir convert --to sample)")
        problem = judged(record)
        if problem is None:
            yield raw_image_bytes(record)
            continue
        message = f"{path}:{number}: {problem}"
        if left_out is None:
            raise InvalidSample(message)
        left_out(message)


def _parquet_paths(source: str, kind: str | None, split: str) -> list:
    if kind == "parquet":
        if not FileSystems.exists(source):
            raise ShardsError(f"{source} does not exist")
        return _checked_shards([source])
    try:
        # A build names each shard by its split: the other split's images are not even read.
        return [p for p in shard_paths(source) if split == "all" or shard_split(p) == split]
    except ShardsError:
        pass    # not a build's folder: sample shards may still sit in it
    source = source.rstrip("/")
    for pattern in _SHARD_PATTERNS:
        [match] = FileSystems.match([FileSystems.join(source, pattern)])
        paths = sorted(m.path for m in match.metadata_list)
        if paths:
            return _checked_shards(paths)
    if not FileSystems.exists(source):
        raise ShardsError(f"{source} does not exist")
    raise ShardsError(f"{source} holds no sample shards (no data/<task>/*.parquet, *.parquet or */*.parquet) "
                      "and is no .json, .jsonl or .parquet file of samples")


def _checked_shards(paths: list) -> list:
    """``paths``, once each is known to be a Parquet file of samples."""
    for path in paths:
        try:
            with FileSystems.open(path, compression_type="uncompressed") as f:
                columns = set(pq.ParquetFile(f).schema_arrow.names)
        except Exception as exc:  # pyarrow's errors have no common base; any one means "not Parquet"
            raise ShardsError(f"{path} cannot be read as Parquet: {exc.__class__.__name__}: {exc}") from None
        missing = ", ".join(sorted(_SAMPLE_COLUMNS - columns))
        if missing:
            raise ShardsError(f"{path} is not a file of samples (it has no {missing} column)")
    return paths


def _json_records(path: str, kind: str):
    """((file, record number), record) of a .json or .jsonl file."""
    try:
        for item in read_records(path, kind):
            if item.error:
                raise ShardsError(f"{path}:{item.number}: {item.error}")
            yield (path, item.number), item.record
    except Unreadable as exc:
        raise ShardsError(f"{path}: {exc}") from None


def judged(record):
    """Why ``record`` is no valid sample (as ``mir validate`` finds it, images left unopened),
    in one line (``JSON-PATH: message (sample 'ID' left out)``); None when it is one. A sample's sha256s and texts become file
    names and training text, so nothing invalid passes (a NaN box, an answer no option has, a
    sha256 such as ``../../x``)."""
    problems = validate_record(record, schema="sample")
    if not problems:
        return None
    sample_id = record.get("id") if isinstance(record, dict) else None
    named = f"sample '{sample_id}' left out" if isinstance(sample_id, str) else "left out"
    more = f", and {len(problems) - 1} more problems" if len(problems) > 1 else ""
    return f"{problems[0].path}: {problems[0].message} ({named}{more})"
