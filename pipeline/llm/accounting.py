"""Report sections from Beam counters: any endpoint's (``llm_report``), and the drafter's "llm"
section of report.json (``drafter_report``)."""


def counted(counters: dict, namespace: str) -> dict:
    """The counters of ``namespace``, by their names within it."""
    prefix = namespace + "."
    return {name[len(prefix):]: n for name, n in counters.items() if name.startswith(prefix)}


def _by_cause(counts: dict, kind: str) -> dict:
    return {k.split(".", 1)[1]: n for k, n in sorted(counts.items()) if k.startswith(kind + ".")}


SERVER_MESSAGES = 5   # what a server said when requests failed for good: the commonest messages kept


def _commonest(counts: dict) -> dict:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:SERVER_MESSAGES]
    return dict(ranked)


def llm_report(counters: dict, settings: dict, namespace: str = "llm") -> dict:
    """Calls, cache hits, retries, request errors by cause, what the server said when requests
    failed for good (its commonest messages), tokens and estimated cost of the endpoint whose
    ChatEndpoint stats were counted in ``namespace``."""
    calls = counted(counters, namespace)
    prompt_tokens, completion_tokens = calls.get("prompt_tokens", 0), calls.get("completion_tokens", 0)
    price = settings["prices"].get(settings["model"])
    cost = (round((prompt_tokens * price["prompt"] + completion_tokens * price["completion"]) / 1e6, 6)
            if price else None)
    return {"model": settings["model"], "calls": calls.get("calls", 0), "cache_hits": calls.get("cache_hits", 0),
            "retries": calls.get("retries", 0), "json_mode_fallbacks": calls.get("json_mode_fallbacks", 0),
            "adaptations": _by_cause(calls, "adapted"),
            "server_messages": _commonest(_by_cause(calls, "said")),
            "request_errors_by_cause": _by_cause(calls, "errors"),
            "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "estimated_cost_usd": cost}


def drafter_report(counters: dict, settings: dict) -> dict:
    """The "llm" section: the endpoint's figures plus re-asks, failures by cause and agreement rate."""
    llm = counted(counters, "llm")
    agreed, disagreed = llm.get("grounding.agreed", 0), llm.get("grounding.disagreed", 0)
    return dict(llm_report(counters, settings), reasks=llm.get("reasks", 0), failures_by_cause=_by_cause(llm, "failures"),
                grounding={"checked": agreed + disagreed, "agreed": agreed,
                           "agreement_rate": round(agreed / (agreed + disagreed), 4) if agreed + disagreed else None})
