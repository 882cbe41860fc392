"""Local files that untrusted data can neither redirect nor stall: the one way ``mir convert``,
``mir preview`` and ``mir export`` write a file, and the one way they read an image again.

- ``NewFile`` / ``write_new``: a file's whole new content goes to a fresh temporary file in the
  target's folder, created exclusively (``tempfile.mkstemp``: O_CREAT | O_EXCL | O_NOFOLLOW, a
  random name, so a planted ``<name>.tmp`` link is never opened), then renamed over the target.
  A rename replaces a link at the target itself and never writes through it, and a failure
  leaves the target as it was and no temporary file behind.
- ``read_regular``: a file's bytes (or its first bytes), refused unless it is a regular file (a
  FIFO would block for ever, ``/dev/zero`` never ends, a folder is no image) no larger than the
  caller's cap; opened with O_NONBLOCK and judged by ``fstat`` of the open file, so nothing can
  be swapped in between. The build's reads of local source images go through it too.
- ``require_regular``: the same refusal for a reader that opens the file itself (a video decoder).
- ``is_sha256``: a name that came from data may become a file name only if it is a sha256.
- ``outside_root``: the build's confinement rule (``sources.paths.link_problem``) for callers
  that must not load Beam: a path whose realpath leaves the root's realpath is refused.

Imports nothing from the package (a foundation module, like ``records``).
"""
import os
import re
import stat
import tempfile

_SHA256 = re.compile(r"[0-9a-f]{64}")
# The mode an ordinary open() would give a new file (mkstemp's are 0600): read once, since
# os.umask can only be read by setting it.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class UnsafeFile(ValueError):
    """A file that may not be read as asked; the message says why, in one line."""


class FileTooLarge(UnsafeFile):
    """A regular file over the caller's cap (it was not read whole)."""


def is_sha256(value) -> bool:
    """Whether ``value`` is 64 lowercase hex characters (and so safe as a file name)."""
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


class NewFile:
    """The new content of the local file ``path``, written through ``file`` (binary) and put in
    place by ``commit`` (or thrown away by ``abort``); as a context manager it commits when the
    block ends without an exception and aborts otherwise. Missing parent folders are made."""

    def __init__(self, path: str):
        self.path = path
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix=".mir-", suffix=".partial", dir=folder)
        try:
            os.fchmod(fd, 0o666 & ~_UMASK)
            self.file = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            os.unlink(self.tmp)
            raise

    def commit(self) -> None:
        try:
            if not self.file.closed:
                self.file.close()
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        try:
            self.file.close()
        except Exception:
            pass
        try:
            os.unlink(self.tmp)
        except OSError:
            pass

    def __enter__(self):
        return self.file

    def __exit__(self, kind, exc, tb):
        if kind is None:
            self.commit()
        else:
            self.abort()
        return False


def write_new(path: str, data: bytes) -> None:
    """Replace (or create) the local file ``path`` with ``data`` as ``NewFile`` does."""
    with NewFile(path) as f:
        f.write(data)


def _kind_problem(path: str, mode: int):
    """Why a file of ``mode`` is no image file to read (a folder, a FIFO, a device), or None."""
    if stat.S_ISREG(mode):
        return None
    kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, device or socket)"
    return f"{path} is {kind}, not an image file"


def require_regular(path: str) -> None:
    """UnsafeFile unless the local ``path`` is a regular file: for readers that open a file
    themselves (a video decoder), which a FIFO would stall."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError) as exc:
        raise UnsafeFile(f"{path} cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    problem = _kind_problem(path, mode)
    if problem:
        raise UnsafeFile(problem)


def read_regular(path: str, max_bytes: int, *, head: bool = False) -> bytes:
    """The bytes of the local file ``path``; UnsafeFile when it cannot be opened or is not a
    regular file, FileTooLarge when it holds more than ``max_bytes``. With ``head``, its first
    ``max_bytes`` bytes, whatever its size."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError) as exc:
        raise UnsafeFile(f"{path} cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        info = os.fstat(fd)
        problem = _kind_problem(path, info.st_mode)
        if problem:
            raise UnsafeFile(problem)
        if info.st_size > max_bytes and not head:
            raise FileTooLarge(f"{path} is {info.st_size:,} bytes, over the {max_bytes:,}-byte limit for an image")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(max_bytes + (not head))
    except OSError as exc:
        raise UnsafeFile(f"{path} cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise FileTooLarge(f"{path} grew over the {max_bytes:,}-byte limit for an image while it was read")
    return data


def outside_root(path: str, real_root: str, place: str):
    """Why the local ``path`` leaves ``real_root`` (the root's realpath) by a symlink or ``..``,
    or None; ``place`` says what the root is ("the source"). One rule for the build's sources
    (``sources.paths.link_problem``) and the commands' image roots."""
    real = os.path.realpath(path)
    if real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep):
        return None
    shown = real.encode("utf-8", "backslashreplace").decode("utf-8")
    return f"a symlink (or a path through one) to {shown}, outside {place}"
