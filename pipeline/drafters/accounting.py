"""The "llm" section of report.json, from the Beam counters of namespace "llm"."""

PREFIX = "llm."


def llm_report(counters: dict, settings: dict) -> dict:
    """Calls, cache hits, retries, failures by cause, tokens, estimated cost and agreement rate."""
    llm = {name[len(PREFIX):]: n for name, n in counters.items() if name.startswith(PREFIX)}
    failures = {k.split(".", 1)[1]: n for k, n in sorted(llm.items()) if k.startswith("failures.")}
    errors = {k.split(".", 1)[1]: n for k, n in sorted(llm.items()) if k.startswith("errors.")}
    agreed, disagreed = llm.get("grounding.agreed", 0), llm.get("grounding.disagreed", 0)
    prompt_tokens, completion_tokens = llm.get("prompt_tokens", 0), llm.get("completion_tokens", 0)
    price = settings["prices"].get(settings["model"])
    cost = (round((prompt_tokens * price["prompt"] + completion_tokens * price["completion"]) / 1e6, 6)
            if price else None)
    return {"model": settings["model"], "calls": llm.get("calls", 0), "cache_hits": llm.get("cache_hits", 0),
            "retries": llm.get("retries", 0), "reasks": llm.get("reasks", 0),
            "json_mode_fallbacks": llm.get("json_mode_fallbacks", 0),
            "request_errors_by_cause": errors, "failures_by_cause": failures,
            "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "estimated_cost_usd": cost,
            "grounding": {"checked": agreed + disagreed, "agreed": agreed,
                          "agreement_rate": round(agreed / (agreed + disagreed), 4) if agreed + disagreed else None}}
