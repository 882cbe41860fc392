"""The solver: how hard a sample is, from how often a vision model answers it right (as in MIR).

Each sample is asked ``samples`` times (draw i sends ``seed=i`` at the difficulty temperature, so
each draw has its own cache entry) through a ``ChatEndpoint``: the system prompt is
``prompts/solver.md``, the user message is the question with each ``<image>`` placeholder
replaced by its image, then the options; the reply is asked for as a strict json_schema
{"answer": <one of the labels>} and read with ``answers.extract_choice`` whatever came
back. An unreadable reply or a failed request counts as a wrong answer (counted apart as
``unparsed`` and ``failed``).

The blind check (``difficulty.blind``, ``blind.py``) asks the same way with the images left out
(``user_content(vision=False)``) under its own system prompt, ``prompts/solver_blind.md``, so a
blind request never shares a cache entry with a request that shows the images. Its draws are
counted under ``blind.`` (a failed blind request is left out of the test, not counted wrong).
"""
import functools

from ..llm.accounting import counted, llm_report
from ..llm.calls import CallFailed
from ..llm.endpoint import ChatEndpoint
from ..llm.requests import Prompt, data_url, prompt_file
from ..readback.shards import ImageError, image_bytes
from .answers import extract_choice
from .blind import blind_verdict

NAMESPACE = "solver"
PLACEHOLDER = "<image>"
SCHEMA_NAME = "solver_answer"
FAILED, UNPARSED = "failed", "unparsed"  # draw outcomes that are not a label
BLIND = "blind."  # the prefix of the blind check's counters


@functools.cache
def load_solver_prompt() -> Prompt:
    return Prompt.of("prompts/solver.md", prompt_file("solver.md"))


@functools.cache
def load_blind_prompt() -> Prompt:
    return Prompt.of("prompts/solver_blind.md", prompt_file("solver_blind.md"))


def answer_schema(options: list) -> dict:
    """The solver's reply: one of the option labels. Strict structured outputs want every property
    typed and required, and no others."""
    return {"type": "object", "additionalProperties": False, "required": ["answer"],
            "properties": {"answer": {"type": "string", "enum": [o["label"] for o in options]}}}


def level(pass_rate: float, easy_threshold: float, medium_threshold) -> str:
    if pass_rate >= easy_threshold:
        return "easy"
    if medium_threshold is not None and pass_rate >= medium_threshold:
        return "medium"
    return "hard"


def user_content(sample: dict, *, vision: bool, side: int) -> list:
    """The question with its images in place of the placeholders, then the options."""
    pieces = sample["question"].split(PLACEHOLDER)
    parts = [{"type": "text", "text": pieces[0]}]
    for image, facts, text in zip(sample["images"], sample["image_facts"], pieces[1:]):
        if vision:
            parts.append({"type": "image_url", "image_url": {"url": data_url(image_bytes(image, facts), side)}})
        parts.append({"type": "text", "text": text})
    options = "\n".join(f"{o['label']}. {o['text']}" for o in sample["options"])
    parts.append({"type": "text", "text": f"Options:\n{options}"})
    return [p for p in parts if p["type"] != "text" or p["text"].strip()]


class Solver:
    """``difficulty`` is the manifest's difficulty section with a solver; thread-safe after setup()."""
    namespace = NAMESPACE

    def __init__(self, difficulty: dict):
        self.difficulty = difficulty
        self.settings = dict(difficulty["solver"], temperature=difficulty["temperature"])
        self.method = f"solver:{self.settings['model']}"

    def setup(self):
        self.endpoint = ChatEndpoint(self.settings)
        self.endpoint.setup()

    def drain_stats(self) -> dict:
        return self.endpoint.drain_stats()

    @property
    def blind_draws(self) -> int:
        """Blind answers asked per sample (0: no blind check)."""
        return self.difficulty["blind"]["samples"]

    def request(self, sample: dict, blind: bool = False):
        """The messages that ask ``sample`` (``blind``: without its images, under the blind
        prompt), or None when its images cannot be had."""
        try:
            content = user_content(sample, vision=self.settings["vision"] and not blind, side=self.settings["image_side"])
        except (ImageError, OSError):
            self.endpoint.count("unreadable_images")
            return None
        prompt = load_blind_prompt() if blind else load_solver_prompt()
        return [{"role": "system", "content": prompt.system}, {"role": "user", "content": content}]

    def choice(self, sent: list, sample: dict, draw: int, blind: bool = False) -> str:
        """Draw number ``draw`` (of the blind check when ``blind``): the label chosen, or FAILED,
        or UNPARSED."""
        prefix = BLIND if blind else ""
        self.endpoint.count(prefix + "draws")
        try:
            reply = self.endpoint.reply(sent, SCHEMA_NAME, answer_schema(sample["options"]), seed=draw,
                                        keep=lambda r: extract_choice(r["content"], sample["options"]) is not None)
        except CallFailed:
            self.endpoint.count(prefix + FAILED)
            return FAILED
        label = extract_choice(reply["content"], sample["options"])
        if label is None:
            self.endpoint.count(prefix + UNPARSED)
        return label or UNPARSED

    def scored(self, sample: dict, choices: list):
        """The difficulty the draws give, or None when no request got through (so there is
        nothing to score: the caller falls back to the heuristic)."""
        if all(c == FAILED for c in choices):
            self.endpoint.count("heuristic_fallbacks")
            return None
        right = sum(c == sample["answer"] for c in choices)
        self.endpoint.count("right", right)
        self.endpoint.count("scored")
        pass_rate = right / len(choices)
        return {"level": level(pass_rate, self.difficulty["easy_threshold"], self.difficulty["medium_threshold"]),
                "pass_rate": pass_rate, "samples": len(choices), "method": self.method}

    def blind_scored(self, sample: dict, choices: list, pass_rate):
        """(the difficulty fields of the blind check, its verdict or None when no blind request got
        through). ``pass_rate``: the solver's with the images, or None."""
        answered = [c for c in choices if c != FAILED]
        if not answered:
            self.endpoint.count(BLIND + "unchecked")
            return {"blind_pass_rate": None, "blind_samples": 0, "multimodal_gain": None,
                    "answerable_without_images": None}, None
        right = sum(c == sample["answer"] for c in answered)
        verdict = blind_verdict(right, len(answered), len(sample["options"]), self.difficulty["blind"]["significance"])
        self.endpoint.count(BLIND + "right", right)
        self.endpoint.count(BLIND + "checked")
        self.endpoint.count(BLIND + "answerable", verdict.answerable)
        gain = None if pass_rate is None else round(pass_rate - verdict.pass_rate, 4)
        return {"blind_pass_rate": verdict.pass_rate, "blind_samples": verdict.draws, "multimodal_gain": gain,
                "answerable_without_images": verdict.answerable}, verdict


def blind_report(counters: dict, blind: dict):
    """The "blind" part of the solver section: draws, right answers and verdicts over every sample
    checked (those rejected as answerable_without_images included); None when the check is off."""
    if not blind["samples"]:
        return None
    solver = counted(counters, NAMESPACE)
    figures = {name: solver.get(BLIND + name, 0) for name in (
        "draws", "right", FAILED, UNPARSED, "checked", "answerable", "unchecked")}
    answered = figures["draws"] - figures[FAILED]
    prompt = load_blind_prompt()
    return dict(figures, draws_per_sample=blind["samples"], significance=blind["significance"],
                on_answerable=blind["on_answerable"], prompt_id=prompt.id, prompt_hash=prompt.hash,
                pass_rate=round(figures["right"] / answered, 4) if answered else None)


def solver_report(counters: dict, difficulty: dict) -> dict:
    """report.json's "solver" section: the endpoint's figures (blind requests included) plus what
    the draws gave."""
    solver = counted(counters, NAMESPACE)
    prompt = load_solver_prompt()
    return dict(llm_report(counters, difficulty["solver"], namespace=NAMESPACE),
                prompt_id=prompt.id, prompt_hash=prompt.hash, temperature=difficulty["temperature"],
                draws_per_sample=difficulty["samples"], **{name: solver.get(name, 0) for name in (
                    "draws", "right", FAILED, UNPARSED, "scored", "heuristic_fallbacks", "unreadable_images")},
                blind=blind_report(counters, difficulty["blind"]))
