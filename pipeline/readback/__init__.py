"""Readback: reading a finished build back. ``shards`` lists and streams OUT/data/<task>/*.parquet
and writes each image once by sha256; ``curriculum`` is ``mir export curriculum``; ``gallery`` is
``mir preview``. May import ``samples`` (how boxes read as text), ``output``, ``sources`` (to
re-read an image a build did not embed) and the foundation modules.
"""
