"""Publishing a build: written whole into a staging folder next to OUT, then put in OUT's place.

A build never deletes or overwrites a file it did not write. OUT must be new, empty, or a
previous mir build (its marker, ``.mir-build.json``, lists the files that build wrote); a
previous build is replaced only when asked (``--overwrite``), and then only the files its
marker lists go: anything else in OUT (a preview, an LLM cache, a note of the user's) is
carried into the new build.

On a local disk the new build takes OUT's place with one atomic exchange of the two folders
(Linux ``renameat2(RENAME_EXCHANGE)``; elsewhere two renames, with a window in which OUT is
absent), so OUT holds the previous complete build or the new complete one whenever the build
is interrupted; the next build finishes or clears what an interrupted one left (``recover``).
On other filesystems (gs://, ...) there is no folder rename: files move one by one, old
marker first out and new marker last in, so a reader can tell a complete build by its marker.
"""
import ctypes
import errno
import json
import os
import uuid

from apache_beam.io.filesystems import FileSystems

from .. import __version__
from ..storage import read_bytes, write_text

MARKER = ".mir-build.json"
# The LLM cache's default home (OUT/llm_cache) is kept across builds and never counted as a
# stranger's file, even before OUT holds a first complete build.
KEPT = "llm_cache/"
STAGING_TAG = ".mir-staging"       # inside a staging folder: everything in it is the build's own
SCRATCH = ".mir-scratch"           # inside a staging folder: what the build keeps only while it runs
_STAGING, _OLD = ".mir-staging-", ".mir-old-"


class PublishError(ValueError):
    """OUT cannot take a build; the message is one line."""


def _local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def _plain(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


def _listing(folder: str) -> list:
    """Every file below ``folder``, relative to it, sorted."""
    if _local(folder):
        root = _plain(folder)
        return sorted(os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/")
                      for d, _, files in os.walk(root) for f in files)
    [found] = FileSystems.match([FileSystems.join(folder, "**")])
    prefix = folder.rstrip("/") + "/"
    return sorted(m.path[len(prefix):] for m in found.metadata_list)


def marker_files(folder: str):
    """The files a mir build in ``folder`` wrote, from its marker; None when there is no marker."""
    path = FileSystems.join(folder, MARKER)
    if not FileSystems.exists(path):
        return None
    try:
        return list(json.loads(read_bytes(path))["files"])
    except (ValueError, KeyError, TypeError):
        raise PublishError(f"{path} is not a mir build marker (unreadable); move it away or choose another "
                           "--output") from None


def check_output(out: str, overwrite: bool) -> None:
    """Refuse an OUT that holds anything but a previous mir build, or one without ``overwrite``."""
    if _local(out) and not os.path.exists(_plain(out)):
        return      # an object store has no folders: there, what is listed under OUT is what counts
    listed = [rel for rel in _listing(out) if not rel.startswith(KEPT)]
    ours = marker_files(out)
    if ours is None:
        if listed:
            raise PublishError(f"{out} already holds files that are not a mir build (such as {listed[0]!r}); "
                               "choose a new or empty --output folder")
        return
    if not overwrite:
        raise PublishError(f"{out} holds a previous mir build; rerun with --overwrite to replace it (only the "
                           "files that build wrote are replaced)")


def _siblings(out: str, prefix: str) -> list:
    """Folders next to OUT named ``<OUT name><prefix>...`` (a build's staging or old folders)."""
    if not _local(out):
        return []
    path = _plain(out).rstrip("/") or "."
    parent, name = os.path.split(os.path.abspath(path))
    return sorted(os.path.join(parent, entry) for entry in os.listdir(parent) if entry.startswith(name + prefix))


def new_staging(out: str) -> str:
    """A fresh staging folder next to OUT (the same filesystem, so the publish is a rename)."""
    staging = out.rstrip("/") + _STAGING + uuid.uuid4().hex[:12]
    write_text(FileSystems.join(staging, STAGING_TAG), "a mir build in progress; removed when it is published\n")
    return staging


def scratch_folder(staging: str, name: str) -> str:
    """A folder of the build in ``staging`` for files it needs only while it runs; ``publish``
    removes it (and ``recover`` with the rest of an interrupted build's staging folder)."""
    return FileSystems.join(staging, SCRATCH, name)


def recover(out: str) -> None:
    """Finish what an interrupted build left next to OUT: a previous build moved aside comes back
    if OUT is gone, or gives its carried files to OUT and goes; a staging folder is removed."""
    for old in _siblings(out, _OLD):
        if not os.path.exists(_plain(out)):
            os.rename(old, _plain(out))
        else:
            _retire(old, out)
    for staging in _siblings(out, _STAGING):
        if os.path.exists(os.path.join(staging, STAGING_TAG)):
            _remove_listed(staging, _listing(staging))


def publish(staging: str, out: str) -> None:
    """Put the complete build in ``staging`` in OUT's place (after ``check_output``)."""
    listed = _listing(staging)
    _remove_scratch(staging, [rel for rel in listed if rel.startswith(SCRATCH + "/")])
    files = [f for f in listed if f not in (STAGING_TAG, MARKER) and not f.startswith(SCRATCH + "/")]
    write_text(FileSystems.join(staging, MARKER), json.dumps(
        {"built_by": f"mir {__version__}", "files": files}, indent=1, sort_keys=True) + "\n")
    FileSystems.delete([FileSystems.join(staging, STAGING_TAG)])
    if _local(out):
        _publish_local(_plain(staging), _plain(out))
    else:
        _publish_by_files(staging, out, files)


def _remove_scratch(staging: str, kept: list) -> None:
    if _local(staging):
        _remove_listed(_plain(staging), kept)
    elif kept:
        FileSystems.delete([FileSystems.join(staging, rel) for rel in kept])


def _publish_local(staging: str, out: str) -> None:
    if not os.path.exists(out):
        os.rename(staging, out)
        return
    old = out.rstrip("/") + _OLD + uuid.uuid4().hex[:12]
    if not _exchange(staging, out):
        os.rename(out, old)
        os.rename(staging, out)
    else:
        os.rename(staging, old)      # after the exchange, staging holds the previous build
    _retire(old, out)


def _exchange(a: str, b: str) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False where the
    system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    if ctypes.get_errno() in (errno.ENOSYS, errno.EINVAL, errno.EXDEV, errno.ENOTSUP):
        return False
    raise OSError(ctypes.get_errno(), f"cannot exchange {a} and {b}")


def _retire(old: str, out: str) -> None:
    """A replaced build: files its marker does not list (the user's, a preview, a cache) move into
    OUT; the files it wrote are removed; the folder goes when nothing else is left in it."""
    ours = set(marker_files(old) or []) | {MARKER}
    for rel in _listing(old):
        if rel not in ours:
            target = os.path.join(out, rel)
            if os.path.exists(target):
                continue        # the new build wrote this name: the old one's stays aside, not lost
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.rename(os.path.join(old, rel), target)
    _remove_listed(old, [rel for rel in _listing(old) if rel in ours])


def _remove_listed(folder: str, files: list) -> None:
    for rel in files:
        os.remove(os.path.join(folder, rel))
    for d, _, _ in sorted(os.walk(folder), key=lambda w: -len(w[0])):
        if not os.listdir(d):
            os.rmdir(d)


def _publish_by_files(staging: str, out: str, files: list) -> None:
    old = marker_files(out)
    if old is not None:
        FileSystems.delete([FileSystems.join(out, MARKER)])      # OUT is now visibly incomplete
        stale = [FileSystems.join(out, rel) for rel in old if rel not in files]
        present = [p for p in stale if FileSystems.exists(p)]
        if present:
            FileSystems.delete(present)
    FileSystems.rename([FileSystems.join(staging, rel) for rel in files],
                       [FileSystems.join(out, rel) for rel in files])
    FileSystems.rename([FileSystems.join(staging, MARKER)], [FileSystems.join(out, MARKER)])
