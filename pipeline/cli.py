"""The ``mir`` command line: one module per command in ``pipeline/commands/``.

Each command module has ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args, extra)``
returning the exit status (``extra`` holds arguments the command's parser did not know, which
``build`` passes on to Beam). Errors are one line on stderr, never a traceback.
"""
import argparse
import importlib
import logging
import pkgutil
import sys

from . import __version__, commands

_COMMANDS = [importlib.import_module(f"{commands.__name__}.{m.name}")
             for m in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name)]


def _parser(argv):
    parser = argparse.ArgumentParser(prog="mir", description="Build and check MIR-style multi-image reasoning datasets.")
    parser.add_argument("--version", action="version", version=f"mir {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Only the chosen command's arguments are declared: some need heavy imports (Apache Beam),
    # which `mir --help` or `mir validate` should not pay for.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for module in _COMMANDS:
        sub = subparsers.add_parser(module.NAME, help=module.HELP, **getattr(module, "PARSER_ARGS", {}))
        if module.NAME == chosen:
            module.add_arguments(sub)
        sub.set_defaults(module=module)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser(argv)
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args.module, "ACCEPTS_EXTRA", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    # Beam warns about optional cloud clients and logs its timings on every run; only errors show
    # unless a command's --log-level asks for more.
    logging.basicConfig(level=getattr(args, "log_level", "ERROR"), format="%(levelname)s %(name)s: %(message)s")
    return args.module.run(args, extra)


if __name__ == "__main__":
    sys.exit(main())
