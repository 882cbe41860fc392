"""Source adapters: each lists the images of one kind of source as ImageRefs (or rejects)."""
from .folder import list_folder

LISTERS = {"folder": list_folder}


def list_source(source):
    """Yield an ImageRef per image of ``source``, or a rejects record where one is unusable."""
    yield from LISTERS[source.kind](source)
