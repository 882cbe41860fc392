"""How a build spreads over the cores: worker processes, and threads in each.

On the local runner a large collection is built by one Beam worker process per core (Beam's
``multi_processing`` mode): every element's Python (Beam's coders, drafting, the judge) then
runs beside the others', where threads in one process share one GIL. A small collection is
built in one process, its heavy stages on a thread pool (stages/parallel.py), since starting
the worker processes (each imports Beam and the pipeline again: 2-3 s) would cost more than
they save. benchmarks/README.md (cores_bench) has the measurements behind both. Every way
writes the same files, byte for byte. A runner with a process per core of its own (Dataflow), or
Beam options that choose the local runner's mode, are left as they are; there the heavy stages
run one thread per process unless ``--workers`` says otherwise.
"""
import dataclasses
import os
import posixpath

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from .sources.paths import is_local
from .stages.parallel import available_cores

LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner")
# Source bytes from which a local build starts a worker process per core: about 700 photos of
# 1024x768. Below it the processes' start-up outweighs what they save.
PROCESSES_FROM_BYTES = 128 * 2**20
MODE_OPTIONS = ("direct_num_workers", "direct_running_mode")


class WorkersError(ValueError):
    """``--workers`` below 1; the message is one line."""


@dataclasses.dataclass(frozen=True)
class Parallelism:
    """``processes``: Beam worker processes on the local runner (None: the runner decides);
    ``threads``: threads per process for the heavy stages (None: every core the process may
    use)."""
    processes: object
    threads: object

    def report(self) -> dict:
        """What report.json's timings say about it."""
        return {"processes": self.processes, "threads_per_process": self.threads or available_cores()}


def plan(options: PipelineOptions, flags: list, workers, sources) -> Parallelism:
    """How the build of ``sources`` runs with ``options`` (made from the Beam ``flags``) and
    ``--workers`` (threads per worker process, None: the default); sets the local runner's mode in
    ``options`` when it chooses worker processes, unless ``flags`` name the mode or the number of
    workers (a value equal to Beam's default too, which ``options`` cannot tell from none)."""
    if workers is not None and workers < 1:
        raise WorkersError(f"--workers must be at least 1, not {workers}")
    if options.view_as(StandardOptions).runner not in LOCAL_RUNNERS:
        return Parallelism(None, workers or 1)
    direct = options.view_as(DirectOptions)
    if not any(str(flag).lstrip("-").split("=")[0] in MODE_OPTIONS for flag in flags):
        cores = available_cores()
        if cores > 1 and collection_bytes(sources, PROCESSES_FROM_BYTES) >= PROCESSES_FROM_BYTES:
            direct.direct_num_workers, direct.direct_running_mode = cores, "multi_processing"
    # Beam reads --direct_num_workers 0 as a worker per CPU.
    processes = (os.cpu_count() or 1) if direct.direct_num_workers == 0 else direct.direct_num_workers or 1
    return Parallelism(processes, workers or (None if processes <= 1 else 1))


def collection_bytes(sources, enough: int) -> int:
    """The bytes of the files in the sources' folders (a source given as a file: the folder
    holding it), counted until ``enough``. Links are not followed and nothing is opened."""
    total = 0
    for source in sources:
        for folder in _folders(source):
            total += (_local_bytes if is_local(folder) else _remote_bytes)(folder, enough - total)
            if total >= enough:
                return total
    return total


def _folders(source) -> list:
    """The folders a source's files are in, each once (a COCO ``images`` folder may hold its JSON)."""
    folders = [_folder(source.location.rstrip("/"))] + ([source.images.rstrip("/")] if source.images else [])
    return list(dict.fromkeys(folders))


def _folder(location: str) -> str:
    """``location`` when it is a folder, else the folder holding the file it names."""
    if is_local(location):
        return location if os.path.isdir(location) else posixpath.dirname(location)
    return posixpath.dirname(location) if FileSystems.exists(location) else location


def _local_bytes(folder: str, enough: int) -> int:
    total, folders = 0, [folder]
    while folders and total < enough:
        try:
            with os.scandir(folders.pop()) as listing:
                for entry in listing:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
        except OSError:   # unreadable: the listing stage reports it
            continue
    return total


def _remote_bytes(folder: str, enough: int) -> int:
    try:
        [result] = FileSystems.match([FileSystems.join(folder, "**")], limits=[10_000])
    except Exception:   # unreachable: the listing stage reports it
        return 0
    return sum(m.size_in_bytes for m in result.metadata_list)
