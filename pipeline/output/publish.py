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

One build writes an OUT at a time: it holds an exclusive lock (``flock``) on ``OUT.mir-lock``
beside OUT while it runs, and on its staging folder's tag, so ``recover`` leaves a live build's
staging folder alone. The kernel drops a dead process's locks, so a lock file a killed build
left is simply taken by the next one.

``check_place`` is the one check of where a command writes (a build's OUT, ``mir preview``'s
folder, ``mir export``'s file and its images folder): never a symbolic link, a file where a
folder belongs, a folder inside a source the build reads, or a folder holding anything the same
command did not write there before.
"""
import contextlib
import ctypes
import errno
import fcntl
import json
import os
import re
import stat
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
_STAGING, _OLD, _LOCK = ".mir-staging-", ".mir-old-", ".mir-lock"
# A page `mir preview` wrote (readback/gallery.py's page head: every title ends "mir preview"), and
# an image file of a preview or an export (`<sha256>.<ext>`).
_PREVIEW_PAGE = re.compile(rb'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                           rb'<title>[^<\n]*mir preview</title>')
_IMAGE_FILE = re.compile(r"[0-9a-f]{64}\.[a-z0-9]{1,5}")
# Errors of the machine, not of the data: a full disk, a file-size limit, a read-only or
# forbidden place, a quota.
ENVIRONMENT_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT)
_LIVE = {}      # staging folder -> the open, locked descriptor of its tag (this process's builds)


class PublishError(ValueError):
    """OUT cannot take a build; the message is one line."""


def environment_error(exc: BaseException):
    """The OSError of the machine (full disk, file-size limit, read-only or forbidden place)
    behind ``exc``, through its causes and contexts, or None. Beam re-raises a worker's error as
    a new exception whose message holds the original's, so "[Errno N]" in a message counts too."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
            return exc
        found = re.search(r"\[Errno (\d+)\] ([^'\"\n:\[\]]*)", str(exc))
        if found and int(found.group(1)) in ENVIRONMENT_ERRNOS:
            return OSError(int(found.group(1)), found.group(2).strip())
        exc = exc.__cause__ or exc.__context__
    return None


def location_problem(path: str, probe: bool = True):
    """Why Beam's FileSystems cannot reach ``path`` (one line), or None: no filesystem for its
    scheme, or (with ``probe``) one that fails to answer whether it exists (a missing client)."""
    try:
        FileSystems.get_filesystem(path)
        if probe:
            FileSystems.exists(path)
        return None
    except Exception as exc:  # noqa: BLE001 - each filesystem fails its own way (ValueError, BeamIOError, ...)
        scheme = path.split("://", 1)[0] + "://" if "://" in path else "such"
        detail = (str(exc).splitlines() or [""])[0]
        return (f"{path}: {scheme} locations cannot be read or written here ({exc.__class__.__name__}"
                + (f": {detail[:120]}{'...' if len(detail) > 120 else ''})" if detail else ")"))


def _local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def _plain(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


def _listing(folder: str) -> list:
    """Every file below ``folder``, relative to it, sorted (a link to a folder counts as a file:
    it is moved or removed as a link, never followed)."""
    if _local(folder):
        root = _plain(folder)
        return sorted(os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/")
                      for d, dirs, files in os.walk(root)
                      for f in files + [d2 for d2 in dirs if os.path.islink(os.path.join(d, d2))])
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


def check_output(out: str, overwrite: bool, sources=()) -> None:
    """Refuse an OUT that holds anything but a previous mir build, or one without ``overwrite``
    (``check_place`` with kind "build")."""
    check_place(out, "build", overwrite=overwrite, sources=sources)


def check_place(path: str, kind: str, *, overwrite: bool = False, sources=()) -> None:
    """The one check of where a mir command writes; raises PublishError (one line) to refuse.

    ``kind`` "build": ``path`` is OUT, a folder that must be new, empty or a previous mir build
    (replaced only with ``overwrite``), and lie in none of the ``sources`` (local folder
    locations the build reads). "preview": a folder that is new, empty or holds only what
    `mir preview` writes (its pages and ``images/<sha256>.<ext>``). "export": a file (replaced
    when it is one) whose ``<stem>_images`` folder beside it is new, empty or holds only image
    files named by their sha256. Everywhere: no symbolic link (OUT, the file, or anything in
    the folder), no file where a folder belongs, no folder where a file belongs."""
    problem = location_problem(path)
    if problem:
        raise PublishError(problem)
    if kind == "export":
        _check_export(path)
        return
    if not _local(path):
        if kind == "build":
            _check_build_entries(path, _listing(path), overwrite)
        return      # an object store has no folders or links: what is listed under OUT is what counts
    _check_folder(path, sources)
    if not os.path.exists(_plain(path)):
        return
    entries, odd = _entries(_plain(path))
    if kind == "build":
        odd = [rel for rel in odd if rel.rstrip("/") != KEPT.rstrip("/") and not rel.startswith(KEPT)]
        if odd:
            raise PublishError(f"{path} holds {odd[0]!r}, a link, special file or empty folder no mir build writes; "
                               "choose a new or empty --output folder")
        _check_build_entries(path, entries, overwrite)
    else:
        foreign = odd + [rel for rel in entries if not _preview_file(_plain(path), rel)]
        if foreign:
            raise PublishError(f"{path} holds {foreign[0]!r}, which mir preview did not write; choose a new or "
                               "empty --output folder")


def _check_build_entries(out: str, entries: list, overwrite: bool) -> None:
    listed = [rel for rel in entries if not rel.startswith(KEPT)]
    if marker_files(out) is None:
        if listed:
            raise PublishError(f"{out} already holds files that are not a mir build (such as {listed[0]!r}); "
                               "choose a new or empty --output folder")
        return
    if not overwrite:
        raise PublishError(f"{out} holds a previous mir build; rerun with --overwrite to replace it (only the "
                           "files that build wrote are replaced)")


def _check_folder(path: str, sources) -> None:
    """A local folder to write into: not a link, not a file, in no source folder."""
    plain = _plain(path).rstrip("/") or "/"
    if os.path.islink(plain):
        raise PublishError(f"{path} is a symbolic link; give the folder itself (or a new one) as the output")
    if os.path.exists(plain) and not os.path.isdir(plain):
        raise PublishError(f"{path} exists and is not a folder; choose a new or empty output folder")
    real = os.path.realpath(plain)
    for name, location in sources:
        if not _local(location) or not os.path.isdir(_plain(location)):
            continue
        root = os.path.realpath(_plain(location))
        if os.path.commonpath([real, root]) == root:
            raise PublishError(f"{path} lies inside source {name!r} ({location}): the next build would read what "
                               "this one writes; choose an output folder outside every source")


def _entries(root: str) -> tuple:
    """(regular files, everything else: links, special files, empty folders) below ``root``,
    relative to it; links are never followed."""
    files, odd = [], []
    for d, dirs, names in os.walk(root):
        for name in sorted(names + dirs):
            full = os.path.join(d, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            mode = os.lstat(full).st_mode
            if stat.S_ISREG(mode):
                files.append(rel)
            elif stat.S_ISDIR(mode):
                if not os.listdir(full):
                    odd.append(rel + "/")
            else:
                odd.append(rel)
    return sorted(files), sorted(odd)


def _preview_file(root: str, rel: str) -> bool:
    """A file `mir preview` writes: a page of its own or an image named by its sha256."""
    if "/" not in rel and rel.endswith(".html"):
        with open(os.path.join(root, rel), "rb") as f:
            return bool(_PREVIEW_PAGE.match(f.read(512)))
    folder, _, name = rel.partition("/")
    return folder == "images" and bool(_IMAGE_FILE.fullmatch(name))


def _check_export(output: str) -> None:
    """`mir export`'s file and its ``<stem>_images`` folder beside it."""
    if not _local(output):
        return
    plain = _plain(output)
    for path in (plain, plain + ".mir-partial"):
        if os.path.islink(path):
            raise PublishError(f"{path} is a symbolic link; choose another --output file")
    if os.path.exists(plain) and not os.path.isfile(plain):
        raise PublishError(f"{output} exists and is not a file; choose another --output file")
    root = os.path.dirname(plain) or "."
    stem = os.path.splitext(os.path.basename(plain))[0]
    images = os.path.join(root, f"{stem}_images")
    _check_folder(images, ())
    if os.path.isdir(images):
        entries, odd = _entries(images)
        foreign = odd + [rel for rel in entries if not _IMAGE_FILE.fullmatch(rel)]
        if foreign:
            raise PublishError(f"{images} holds {foreign[0]!r}, which mir export did not write; choose another "
                               "--output file")


def _lock_path(out: str) -> str:
    parent, name = os.path.split(os.path.abspath(_plain(out).rstrip("/") or "."))
    return os.path.join(parent, name + _LOCK)


@contextlib.contextmanager
def build_lock(out: str):
    """Hold OUT for this build: an exclusive lock on ``OUT.mir-lock`` beside it (removed when the
    build ends). Raises PublishError when another live build holds it or the place beside OUT
    cannot be written. On an object store there is no lock."""
    if not _local(out):
        yield
        return
    path = _lock_path(out)
    fd = _take_lock(path, out)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)


def _take_lock(path: str, out: str) -> int:
    while True:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise PublishError(f"cannot write beside {out} ({path}): {exc.strerror}; choose an output folder you "
                               "can write") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            raise PublishError(f"another mir build{f' (process {holder})' if holder.isdigit() else ''} is writing "
                               f"{out}; wait for it to finish or choose another --output") from None
        try:
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:     # not a file the previous holder unlinked just before we locked it
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
            return fd
        os.close(fd)


def _live(staging: str) -> bool:
    """Whether a live build holds the staging folder (the lock on its tag)."""
    if staging in _LIVE:
        return True
    try:
        fd = os.open(os.path.join(staging, STAGING_TAG), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


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
    text = "a mir build in progress; removed when it is published\n"
    if not _local(staging):
        write_text(FileSystems.join(staging, STAGING_TAG), text)
        return staging
    tag = os.path.join(_plain(staging), STAGING_TAG)
    try:
        os.makedirs(_plain(staging))
        fd = os.open(tag, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        _LIVE[staging] = fd
        os.write(fd, text.encode("ascii"))
    except OSError as exc:
        discard(staging)
        raise PublishError(f"cannot write beside {out} ({staging}): {exc.strerror}") from None
    return staging


def _release(staging: str) -> None:
    fd = _LIVE.pop(staging, None)
    if fd is not None:
        os.close(fd)


def discard(staging: str) -> None:
    """Remove this process's staging folder after a failure (only while it still holds its tag:
    once the publish began, what is there is OUT's, and ``recover`` finishes it)."""
    try:
        if _local(staging):
            plain = _plain(staging)
            ours = os.path.exists(os.path.join(plain, STAGING_TAG)) or (os.path.isdir(plain) and not os.listdir(plain))
        else:
            ours = FileSystems.exists(FileSystems.join(staging, STAGING_TAG))
        if ours:
            _remove_files(staging, _listing(staging))
    finally:
        _release(staging)


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
        if os.path.exists(os.path.join(staging, STAGING_TAG)) and not _live(staging):
            _remove_listed(staging, _listing(staging))


def publish(staging: str, out: str) -> None:
    """Put the complete build in ``staging`` in OUT's place (after ``check_output``)."""
    listed = _listing(staging)
    _remove_files(staging, [rel for rel in listed if rel.startswith(SCRATCH + "/")])
    files = [f for f in listed if f not in (STAGING_TAG, MARKER) and not f.startswith(SCRATCH + "/")]
    write_text(FileSystems.join(staging, MARKER), json.dumps(
        {"built_by": f"mir {__version__}", "files": files}, indent=1, sort_keys=True) + "\n")
    FileSystems.delete([FileSystems.join(staging, STAGING_TAG)])
    _release(staging)
    if _local(out):
        _publish_local(_plain(staging), _plain(out))
    else:
        _publish_by_files(staging, out, files)


def _remove_files(staging: str, files: list) -> None:
    """Remove ``files`` (relative paths) of ``staging``, local or on an object store."""
    if _local(staging):
        _remove_listed(_plain(staging), files)
    elif files:
        FileSystems.delete([FileSystems.join(staging, rel) for rel in files])


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
