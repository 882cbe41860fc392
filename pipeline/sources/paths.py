"""Where a source may read: every path a sidecar, listing or COCO file names resolves inside the
source's root, and every location has a filesystem that can read it.

Paths are joined and compared as text for every scheme; on local disk (the only place symlinks
exist, and FileSystems has no notion of them) the target is also resolved with
``os.path.realpath``, so a link, or a folder link on the way, that leaves the root is refused.
"""
import os
import posixpath

from apache_beam.io.filesystems import FileSystems

from ..safe_files import outside_root


class SourceUnusable(Exception):
    """A source that cannot be listed at all; ``reason`` is ``missing_source`` (nothing is at its
    location) or ``unreadable_source`` (something is, but it cannot be read as the kind says)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def is_local(uri: str) -> bool:
    return FileSystems.get_scheme(uri) is None


def printable(text: str) -> str:
    """``text`` with the undecodable bytes of a file name (lone surrogates) written as escapes,
    so a rejects record or an images.parquet row can always be written."""
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode("utf-8")


def scheme_problem(uri: str):
    """Why no filesystem can read ``uri`` (an unknown scheme, or one whose package is not
    installed), or None."""
    try:
        FileSystems.get_filesystem(uri)
    except Exception:  # Beam raises ValueError or wraps an ImportError, with a pip hint
        return f"no filesystem reads {uri.split('://', 1)[0]}:// URIs here"
    return None


def check_file(location: str) -> None:
    """SourceUnusable when the file ``location`` (a listing, a COCO JSON, a video) cannot be read
    or does not exist."""
    problem = scheme_problem(location)
    if problem:
        raise SourceUnusable("unreadable_source", f"{location}: {problem}")
    if not FileSystems.exists(location):
        raise SourceUnusable("missing_source", f"{location} does not exist")


def link_problem(path: str, real_root: str):
    """Why the local ``path`` leaves ``real_root`` (the root's realpath) by a symlink, or None."""
    return outside_root(path, real_root, "the source")


class Root:
    """The root of one source: resolves the paths its sidecar, listing or COCO file names."""

    def __init__(self, location: str, allow_absolute: bool = False):
        local = is_local(location)
        self.location = os.path.normpath(location) if local else location.rstrip("/")
        self.allow_absolute = allow_absolute
        self.real = os.path.realpath(location) if local else None

    def resolve(self, name: str):
        """(uri, refusal): the uri ``name`` names and, when the source may not read it,
        (reason, why); refusal is None when it may."""
        if "\x00" in name:
            return name, ("bad_metadata", f"{name!r} contains a NUL character")
        if "://" in name or posixpath.isabs(name):
            return name, self._absolute(name)
        relative = posixpath.normpath(name)
        uri = FileSystems.join(self.location, relative)
        if relative == ".." or relative.startswith("../"):
            return (os.path.normpath(uri) if self.real else uri), (
                "outside_source", f"{name!r} leads out of {self.location}")
        problem = link_problem(uri, self.real) if self.real else None
        return uri, ("outside_source", f"{name!r} is {problem}") if problem else None

    def _absolute(self, name: str):
        if not self.allow_absolute:
            return ("outside_source", f"{name!r} is absolute: paths must be relative to {self.location} "
                                      "(a manifest source may allow absolute URIs with allow_absolute: true)")
        problem = scheme_problem(name) if "://" in name else None
        return ("unsupported_uri", f"{name!r}: {problem}") if problem else None
