"""Samples: judging and converting sample records, wherever they come from. ``judge`` is the one
judge of a sample (schema plus semantic rules) for the Validate stage, ``mir validate`` and the
LLM drafter's re-asks; ``mir_format`` reads and writes MIR's own released format (``mir_regions``: its Text2Region and
Region2Region texts read into structured entries);
``safe_input`` reads untrusted .json / .jsonl / .parquet files streamed and size-capped. May
import ``images`` (to check image bytes), ``tasks``, ``schemas`` and the foundation modules.
"""
