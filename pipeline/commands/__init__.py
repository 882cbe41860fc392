"""Commands: one module per ``mir`` command, found by ``cli``.

Each module has ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args, extra)`` returning
the exit status, plus optional ``PARSER_ARGS`` and ``ACCEPTS_EXTRA``. ``cli`` imports every
command module to list them, so a module imports the code it runs inside ``run`` (each such
import says so): ``mir --help`` and ``mir validate`` do not load Apache Beam. Commands may
import anything below them; nothing imports a command. What they share lives here: one-line
errors (``fail``), guarded calls (``guarded``) and printable text (``one_line``).
"""
import re
import sys

# What a terminal would act on instead of showing: C0 and C1 controls (ESC starts ANSI sequences,
# CR and BS overwrite), DEL, the Unicode line and paragraph separators, the bidi controls that
# reorder what follows (Trojan Source), and lone surrogates (undecodable bytes of a file name).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def fail(message: str, code: int) -> int:
    """Print a one-line error (escaped by ``one_line``) and return the exit status to use."""
    print(f"mir: {one_line(message)}", file=sys.stderr)
    return code


class OutputError(Exception):
    """The output could not be written (a full disk, a file-size limit, a read-only folder)."""


def writing(call, output: str):
    """``call()``, an error of the machine on the way (``publish.environment_error``: a full disk,
    a file-size limit, a read-only or forbidden place, as for a build) becoming OutputError naming
    ``output``: exit 2, not a failure of mir's."""
    # publish loads Beam's FileSystems: only the commands that write load it.
    from ..output.publish import environment_error
    try:
        return call()
    except OSError as exc:
        cause = environment_error(exc)
        if cause is None:
            raise
        raise OutputError(f"cannot write {output}: {cause.strerror or cause}") from None


def guarded(args, action: str, call, expected: dict):
    """(``call()``'s result, None), or (None, exit status) after a one-line error. ``expected``
    maps exception types (or tuples of them) to their status; any other exception is a failure,
    status 1, shown with a traceback only under --debug."""
    known = tuple(t for kinds in expected for t in (kinds if isinstance(kinds, tuple) else (kinds,)))
    try:
        return call(), None
    except known as exc:
        return None, fail(str(exc), next(code for kind, code in expected.items() if isinstance(exc, kind)))
    except Exception as exc:
        if getattr(args, "debug", False):
            raise
        return None, fail(f"{action} failed: {exc.__class__.__name__}: {exc} (rerun with --debug for details)", 1)


def _escaped(match) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def one_line(text) -> str:
    """One printable line whatever a file name or message holds: the one place where text
    from data is made harmless for a terminal. Every character a terminal would act on
    (``_UNSAFE``) is written as a Python-style escape (``\\x1b``, ``\\n``, ``\\u202e``), so
    no escape sequence, line break or bidi override from data reaches the screen."""
    return _UNSAFE.sub(_escaped, str(text))
