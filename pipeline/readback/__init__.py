"""Readback: reading a finished build back. ``shards`` lists and streams OUT/data/<task>/*.parquet
and writes each image once by sha256; ``inputs`` finds the samples an export reads (a build, any
folder of shards, a file of samples); ``curriculum`` is ``mir export curriculum``, ``boxes`` how it
writes boxes (text, Qwen-VL tokens, ms-swift objects); ``gallery`` is ``mir preview``. May import
``samples`` (how boxes read as text, MIR's image placeholders, reading and judging a file of
samples), ``output``, ``images`` (an image written out upright, as the build saw it),
``sources`` (to re-read an image a build did not embed) and the foundation modules.
"""
