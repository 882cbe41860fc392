"""Commands: one module per ``mir`` command, found by ``cli``.

Each module has ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args, extra)`` returning
the exit status, plus optional ``PARSER_ARGS`` and ``ACCEPTS_EXTRA``. ``cli`` imports every
command module to list them, so a module imports the code it runs inside ``run`` (each such
import says so): ``mir --help`` and ``mir validate`` do not load Apache Beam. Commands may
import anything below them; nothing imports a command. What they share lives here: one-line
errors (``fail``), guarded calls (``guarded``) and printable text (``one_line``).
"""
import sys


def fail(message: str, code: int) -> int:
    """Print a one-line error and return the exit status to use."""
    print(f"mir: {message}", file=sys.stderr)
    return code


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


def one_line(text) -> str:
    """One printable line whatever a file name or message holds."""
    text = str(text).replace("\r", "\\r").replace("\n", "\\n")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
