"""Output: what a build writes. ``parquet`` streams rows to Parquet (Arrow schemas derived from
the JSON Schemas in ``arrow_schema``) and JSONL; ``audit`` makes images.parquet rows; ``report``
counts facts over every output into report.json; ``shortcut_report`` adds the figures of the
strategies that answer without the images; ``card`` renders the dataset card. May import
``images`` (hash settings), ``tasks``, ``schemas``, ``shortcuts`` and the foundation modules;
never stages.
"""
