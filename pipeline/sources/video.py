"""The ``video`` source: frames sampled from video files at the source's ``frame_rate``.

A frame is not a file, so it is referenced as ``<video uri>#t=<seconds>``; ``read_frame`` turns
such a uri into PNG bytes (lossless, and the same bytes on every read, so sha256 identifies the
frame). Each frame carries ``sequence`` (the video), ``order`` and ``timestamp`` metadata.
Videos are read through FileSystems and decoded with PyAV.
"""
import io
import math
import posixpath

import av
from apache_beam.io.filesystems import FileSystems

from ..records import ImageRef, reject
from ..safe_files import require_regular
from .files import find_files
from .paths import check_file

STAGE = "read_sources"
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg")
FRAME_MARK = "#t="
# Frame times within this many seconds of the sampled time count as at it (float rounding).
_EPSILON = 1e-6
# Frames sampled from one video at most (a day at frame_rate 1); a video whose duration (from its
# header, which a broken or hostile file may overstate) and frame_rate ask for more is rejected
# as too_many_frames rather than listed.
MAX_FRAMES_PER_VIDEO = 100_000


def frame_uri(video_uri: str, timestamp: float) -> str:
    return f"{video_uri}{FRAME_MARK}{timestamp!r}"


def parse_frame_uri(uri: str):
    """(video uri, seconds) for a frame uri, None for any other uri."""
    video, mark, seconds = uri.rpartition(FRAME_MARK)
    if not mark or not video.lower().endswith(VIDEO_SUFFIXES):
        return None
    try:
        return video, float(seconds)
    except ValueError:
        return None


def _duration(container, stream) -> float:
    """Seconds of video: from the stream or container header, else from the packets' times."""
    if stream.duration:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    start = stream.start_time or 0
    ends = [p.pts + (p.duration or 0) for p in container.demux(stream) if p.pts is not None]
    return float((max(ends) - start) * stream.time_base) if ends else 0.0


def _open_video(uri: str):
    """The video file ``uri``, opened through FileSystems; a local one must be a regular file (a
    FIFO named as a video would stall the decoder)."""
    if FileSystems.get_scheme(uri) is None:
        require_regular(uri)
    return FileSystems.open(uri, compression_type="uncompressed")


def _video_duration(uri: str) -> float:
    with _open_video(uri) as f, av.open(f) as container:
        return _duration(container, container.streams.video[0])


def frame_count(duration: float, frame_rate: float) -> int:
    """How many frames sample_times gives: 0, 1/rate, 2/rate, ... before the end of the video."""
    count = duration * frame_rate - _EPSILON
    return math.ceil(count) if math.isfinite(count) else MAX_FRAMES_PER_VIDEO + 1


def sample_times(duration: float, frame_rate: float) -> list:
    """Seconds of each sampled frame: 0, 1/rate, 2/rate, ... before the end of the video."""
    return [round(k / frame_rate, 6) for k in range(frame_count(duration, frame_rate))]


def _frames_of(source, uri: str, root: str):
    try:
        duration = _video_duration(uri)
    except Exception as exc:  # PyAV raises many error types for broken containers
        yield reject(STAGE, "unreadable_video", f"{exc.__class__.__name__}: {exc}", subject=uri,
                     kind="image", source=source.name)
        return
    if frame_count(duration, source.frame_rate) > MAX_FRAMES_PER_VIDEO:
        yield reject(STAGE, "too_many_frames", f"{duration:g} s at frame_rate {source.frame_rate:g} is more than "
                     f"{MAX_FRAMES_PER_VIDEO:,} frames", subject=uri, kind="image", source=source.name)
        return
    times = sample_times(duration, source.frame_rate)
    if not times:
        yield reject(STAGE, "unreadable_video", "the video has no frames", subject=uri, kind="image",
                     source=source.name)
    sequence = posixpath.relpath(uri, root) if root else posixpath.basename(uri)
    for order, seconds in enumerate(times):
        yield ImageRef(uri=frame_uri(uri, seconds), source=source.name,
                       metadata={"file": f"{sequence}{FRAME_MARK}{seconds!r}", "sequence": sequence,
                                 "order": order, "timestamp": seconds})


def list_video(source):
    """Frames of the video at ``location``, or of every video below the folder ``location``; a
    video below the folder that links outside it rejects as ``outside_source``."""
    location = source.location.rstrip("/")
    if location.lower().endswith(VIDEO_SUFFIXES):
        check_file(location)
        videos, root = [location], ""
    else:
        found = find_files(location)
        for uri, (reason, detail) in sorted(found.refused.items()):
            if uri.lower().endswith(VIDEO_SUFFIXES):
                yield reject(STAGE, reason, detail, subject=uri, kind="image", source=source.name)
        videos = sorted(p for p in found.files if p.lower().endswith(VIDEO_SUFFIXES))
        root = location
    for uri in videos:
        yield from _frames_of(source, uri, root)


def read_frame(video_uri: str, seconds: float) -> bytes:
    """PNG bytes of the frame shown at ``seconds``: the last frame starting at or before it."""
    with _open_video(video_uri) as f, av.open(f) as container:
        stream = container.streams.video[0]
        start = stream.start_time or 0
        container.seek(start + int(seconds / stream.time_base), stream=stream, backward=True)
        shown = None
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            if shown is not None and float((frame.pts - start) * stream.time_base) > seconds + _EPSILON:
                break
            shown = frame
        if shown is None:
            raise ValueError(f"no frame at {seconds}s")
        out = io.BytesIO()
        shown.to_image().save(out, format="PNG", compress_level=1)
        return out.getvalue()
