"""Output: what a build writes. ``parquet`` streams rows to Parquet (Arrow schemas derived from
the JSON Schemas in ``arrow_schema``) and JSONL; ``audit`` makes images.parquet rows; ``report``
counts facts over every output into report.json; ``card`` renders the dataset card. May import
``images`` (hash settings), ``tasks``, ``schemas`` and the foundation modules; never stages.
"""
