"""Difficulty: how hard a sample is. ``heuristic`` is the documented rule used without a solver;
``solver`` asks a vision model each sample several times (as MIR does) and maps its pass rate to
a level, and asks it again without the images for the blind check, whose binomial test against
chance is ``blind``; ``answers`` reads which option a reply chose. May import ``llm``, ``readback`` (to read
a sample's images) and the foundation modules; never stages.
"""
