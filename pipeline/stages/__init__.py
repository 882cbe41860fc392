"""Stages: the eight Beam stages of a build, one composite PTransform per module, in flow order:
``read_sources``, ``decode_and_hash``, ``deduplicate``, ``group_contexts``, ``draft``,
``validate``, ``score_difficulty``, ``write_shards``; ``base`` holds what they share (the rejects
output and its counters). ``flow`` wires them together. A stage keeps its own Beam plumbing
short and calls helpers for the work: it may import every helper package (``sources``,
``images``, ``tasks``, ``drafters``, ``llm``, ``difficulty``, ``samples``, ``output``) and the
foundation modules; no helper imports a stage.
"""
