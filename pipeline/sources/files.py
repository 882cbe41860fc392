"""Every file below a source's folder, each either usable or refused with a reason.

Hidden files and folders (names starting with ".") are skipped. Remote folders are listed with
one FileSystems match. Local folders are walked with ``os.scandir``, because Beam's local listing
silently drops what matters here: symlinked folders, broken links and special files. A link
whose target leaves the root is refused (``outside_source``), a link to a folder inside it is not
followed (its files are listed under their own paths), a FIFO or device is refused
(``unsupported_format``: reading it could block), a name that is not valid UTF-8 is refused
(``bad_file_name``), and a subfolder that cannot be listed is refused (``unreadable``).
"""
import dataclasses
import os
import posixpath

from apache_beam.io.filesystems import FileSystems

from .paths import SourceUnusable, is_local, link_problem, printable, scheme_problem


@dataclasses.dataclass
class Found:
    files: set = dataclasses.field(default_factory=set)
    refused: dict = dataclasses.field(default_factory=dict)  # uri -> (reason, detail)


def _hidden(relative: str) -> bool:
    return any(part.startswith(".") for part in relative.split("/"))


def find_files(location: str) -> Found:
    """The files below the folder ``location``; SourceUnusable when it cannot be listed."""
    problem = scheme_problem(location)
    if problem:
        raise SourceUnusable("unreadable_source", f"{location}: {problem}")
    return _local(location) if is_local(location) else _remote(location.rstrip("/"))


def _remote(root: str) -> Found:
    pattern = FileSystems.join(root, "**")
    paths = {m.path for result in FileSystems.match([pattern]) for m in result.metadata_list}
    if not paths and not FileSystems.exists(root):
        raise SourceUnusable("missing_source", f"{root} does not exist (nothing is stored under it)")
    return Found({p for p in paths if not _hidden(posixpath.relpath(p, root))})


def _local(location: str) -> Found:
    root = os.path.normpath(location)
    if not os.path.isdir(root):
        raise SourceUnusable(*(("unreadable_source", f"{root} is not a folder") if os.path.exists(root)
                               else ("missing_source", f"{root} does not exist")))
    found, real_root, folders = Found(), os.path.realpath(root), [root]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            if folder == root:
                raise SourceUnusable("unreadable_source", f"{root} cannot be listed ({exc.strerror})") from None
            found.refused[printable(folder)] = ("unreadable", f"the folder cannot be listed ({exc.strerror})")
            continue
        for entry in entries:
            if not entry.name.startswith("."):
                _sort_entry(entry, real_root, found, folders)
    return found


def _sort_entry(entry, real_root: str, found: Found, folders: list) -> None:
    """File ``entry`` under found.files or found.refused, or queue it as a folder to walk."""
    path = printable(entry.path)
    outside = link_problem(entry.path, real_root) if entry.is_symlink() else None
    if path != entry.path:
        found.refused[path] = ("bad_file_name", "the file name is not valid UTF-8")
    elif outside:
        found.refused[path] = ("outside_source", f"{path} is {outside}")
    elif entry.is_dir():
        if not entry.is_symlink():
            folders.append(entry.path)
    elif entry.is_file() or not os.path.exists(entry.path):
        found.files.add(path)  # a broken link inside the root: DecodeAndHash reports it unreadable
    else:
        found.refused[path] = ("unsupported_format", "not a regular file (a FIFO, socket or device)")
