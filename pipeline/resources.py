"""Where the shipped schemas and prompts live.

An installed package carries copies under ``pipeline/_resources`` (setup.py puts them there);
a source checkout reads the repository's own ``schemas/`` and ``prompts/`` folders, so editing
a schema takes effect without reinstalling.
"""
from pathlib import Path

_PACKAGED = Path(__file__).with_name("_resources")
_ROOT = _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parent.parent


def resource_path(kind: str, name: str) -> Path:
    """Path of ``name`` inside the ``kind`` folder (``schemas`` or ``prompts``)."""
    return _ROOT / kind / name
