"""LLM: talking to one OpenAI-compatible Chat Completions endpoint, for the openai drafter and
the difficulty solver alike. ``endpoint`` (``ChatEndpoint``: cache first, then a call) builds
on ``calls`` (retries with backoff and Retry-After, a retry budget, rate limits), ``cache``
(content-addressed replies on any FileSystems path) and ``requests`` (prompts, strict response
formats, data URLs, re-asks); ``text`` reads reply text, ``accounting`` turns counters into
report sections, ``batch`` is the solver's threaded-batch DoFn base and drains a client's
counts into Beam counters. May import ``images`` (a data URL shows the picture the build
decoded) and the foundation modules (``records``, ``resources``, ``storage``).
"""
