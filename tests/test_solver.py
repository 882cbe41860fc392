"""ScoreDifficulty with a solver: a real loopback Chat Completions server answering by a policy the
tests know, the real openai client, the stage in a real Beam pipeline on samples the grounded
drafter built from generated images, and whole builds through the command line."""
import collections
import json
import re

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from fake_openai_server import FakeOpenAIServer, completion

from pipeline import cli
from pipeline.difficulty.heuristic import heuristic_level
from pipeline.difficulty.solver import answer_schema, level
from pipeline.llm.requests import strict_schema
from pipeline.manifest import ManifestError, load_manifest, parse_manifest
from pipeline.readback.shards import iter_samples, shard_paths
from pipeline.stages.decode_and_hash import DecodeAndHash
from pipeline.stages.deduplicate import Deduplicate
from pipeline.stages.draft import Draft
from pipeline.stages.group_contexts import GroupContexts
from pipeline.stages.read_sources import ReadSources
from pipeline.stages.score_difficulty import ScoreDifficulty
from pipeline.stages.validate import Validate

FIRST = "first option"
# Draw n of every sample is answered as POLICY[n] says: (how the reply is written, the option it
# names: a label, FIRST, or None for a reply that names none).
POLICY = (("json", FIRST), ("Answer: ({})", "B"), ("json after a 500", "B"), ("unparseable", None),
          ("({})", "B"), ("Option {}", "B"), ("lower case", "B"), ("restated text", "B"), ("json", "B"),
          ("The answer is {}.", "B"))
OPTION_LINE = re.compile(r"^([A-H])\. (.*)$", re.M)


class SolverServer(FakeOpenAIServer):
    """Answers solver requests (those with a seed) by POLICY[seed]; ``failing`` answers 500 always."""

    def __init__(self, failing: bool = False):
        super().__init__()
        self.failing = failing
        self.tries = collections.Counter()  # (user message, draw) -> requests seen

    def _note(self, body: dict, headers) -> dict:
        entry = super()._note(body, headers)
        user = body["messages"][1]["content"]
        # The question as the sample has it: the images put back as placeholders, options left out.
        question = "".join(p["text"] if p["type"] == "text" else "<image>" for p in user[:-1])
        with self.lock:
            entry.update(seed=body.get("seed"), temperature=body.get("temperature"), question=question,
                         user=json.dumps(user), blind=all(p["type"] == "text" for p in user))
            self.tries[entry["user"], entry["seed"]] += 1
            entry["try"] = self.tries[entry["user"], entry["seed"]]
        return entry

    def respond(self, body: dict, entry: dict):
        if self.failing:
            return 500, {}, {"error": {"message": "down", "type": "server_error"}}
        style, named = POLICY[entry["seed"]]
        options = dict(OPTION_LINE.findall(body["messages"][1]["content"][-1]["text"]))
        label = next(iter(options)) if named == FIRST else named
        if style == "json after a 500" and entry["try"] == 1:
            return 500, {}, {"error": {"message": "internal error", "type": "server_error"}}
        text = {"json": json.dumps({"answer": label}), "json after a 500": json.dumps({"answer": label}),
                "unparseable": "These pictures are hard to make out.", "lower case": str(label).lower(),
                "restated text": f"It is {options.get(label)}."}.get(style) or style.format(label)
        return 200, {}, completion(text)


def expected_difficulty(sample: dict, easy: float, medium) -> dict:
    """What POLICY gives this sample, worked out from its own options and answer."""
    named = [sample["options"][0]["label"] if label == FIRST else label for _, label in POLICY]
    rate = sum(label == sample["answer"] for label in named) / len(POLICY)
    band = "easy" if rate >= easy else "medium" if medium is not None and rate >= medium else "hard"
    return {"level": band, "pass_rate": rate, "samples": len(POLICY), "method": "solver:fake-solver"}


BLIND_OFF = {"samples": 0}


def difficulty_settings(server, tmp_path, **overrides) -> dict:
    solver = {"base_url": server.base_url, "model": "fake-solver", "concurrency": 4, "timeout": 5,
              "max_retries": 2, "retry_base_delay": 0.01, "retry_max_delay": 0.02, "image_side": 64,
              "cache_location": str(tmp_path / "solver_cache"), "prices": {"fake-solver": {"prompt": 1, "completion": 1}}}
    manifest = parse_manifest({"sources": [{"name": "s", "kind": "folder", "location": "x", "licence": "l",
                                            "attribution": "a"}],
                               "difficulty": {"solver": solver, **overrides}}, ".")
    return manifest.difficulty


def score(manifest, difficulty: dict, check) -> dict:
    """ReadSources .. Validate with the grounded drafter, then ScoreDifficulty; ``check`` gets the
    (sample, difficulty) pairs; returns the "solver" counters."""
    sources = {s.name: s for s in manifest.sources}
    pipeline = TestPipeline()
    hashed = (pipeline | ReadSources(manifest.sources))["images"] | DecodeAndHash(**manifest.decode)
    kept = hashed["images"] | Deduplicate({n: s.dedup_scope for n, s in sources.items()}, 8)
    contexts = (kept["images"] | GroupContexts(sources, manifest.seed, manifest.grouping))["contexts"]
    drafted = contexts | Draft(manifest.drafter, sources, manifest.seed, manifest.decode)
    scored = ((drafted["samples"] | Validate())["samples"] | ScoreDifficulty(difficulty))["samples"]
    assert_that(scored | beam.Map(lambda s: (dict(s, difficulty=None), s["difficulty"])), check)
    result = pipeline.run()
    result.wait_until_finish()
    return {c.key.metric.name: c.committed for c in result.metrics().query()["counters"]
            if c.key.metric.namespace == "solver"}


def matches_policy(easy: float, medium):
    def check(pairs):
        assert pairs, "no samples were scored"
        for sample, difficulty in pairs:
            assert difficulty == expected_difficulty(sample, easy, medium), sample["id"]
        levels = {expected_difficulty(s, easy, medium)["level"] for s, _ in pairs}
        assert len(levels) > 1, f"the samples exercise one level only: {levels}"
    return check


def test_stage_scores_each_sample_by_its_pass_rate_and_a_rerun_asks_only_unread_draws(photo_manifest, tmp_path):
    manifest = load_manifest(str(photo_manifest))
    with SolverServer() as server:   # the blind check has tests of its own (test_blind_check.py)
        first = score(manifest, difficulty_settings(server, tmp_path, blind=BLIND_OFF), matches_policy(0.7, None))
        asked = {r["user"] for r in server.log}  # one user message per sample
        assert first["scored"] == len(asked) and first["draws"] == len(POLICY) * len(asked)
        assert first["calls"] == len(server.log) == (len(POLICY) + 1) * len(asked)
        assert first["retries"] == first["errors.server_error"] == len(asked)
        assert first["unparsed"] == len(asked) and "failed" not in first and "heuristic_fallbacks" not in first
        for user in asked:
            draws = [r for r in server.log if r["user"] == user]
            assert sorted({r["seed"] for r in draws}) == list(range(len(POLICY)))
            assert {r["temperature"] for r in draws} == {0.7} and {r["format"] for r in draws} == {"json_schema"}

        # Other thresholds, a medium band: the same replies from the cache, levels by the new bands.
        again = score(manifest, difficulty_settings(server, tmp_path, easy_threshold=0.9, medium_threshold=0.5,
                                                    blind=BLIND_OFF), matches_policy(0.9, 0.5))
        # Only the draw whose reply named no option (POLICY's fourth) is asked again: it was not stored.
        assert len(server.log) == first["calls"] + len(asked) and again["calls"] == len(asked)
        assert again["cache_hits"] == first["draws"] - len(asked)


def test_a_sample_whose_every_draw_failed_falls_back_to_the_heuristic(photo_manifest, tmp_path):
    manifest = load_manifest(str(photo_manifest))

    def heuristic_levels(pairs):
        assert pairs and all(d == {"level": heuristic_level(s), "pass_rate": None, "samples": 0,
                                   "method": "heuristic:v1"} for s, d in pairs)
    with SolverServer(failing=True) as server:
        settings = difficulty_settings(server, tmp_path, samples=3, blind=BLIND_OFF)
        counted = score(manifest, dict(settings, solver=dict(settings["solver"], max_retries=0)), heuristic_levels)
    assert counted["failed"] == counted["draws"] == counted["calls"] == len(server.log)
    assert counted["heuristic_fallbacks"] == counted["draws"] // 3 > 0 and "scored" not in counted


def test_pass_rate_bands():
    assert [level(r, 0.7, None) for r in (1.0, 0.7, 0.69, 0.0)] == ["easy", "easy", "hard", "hard"]
    assert [level(r, 0.8, 0.4) for r in (0.8, 0.79, 0.4, 0.39)] == ["easy", "medium", "medium", "hard"]


def test_manifest_difficulty_defaults_and_bad_solver_settings(tmp_path, capsys):
    source = [{"name": "s", "kind": "folder", "location": "x", "licence": "l", "attribution": "a"}]
    plain = parse_manifest({"sources": source}, ".").difficulty
    assert plain == {"solver": None, "samples": 10, "temperature": 0.7, "easy_threshold": 0.7, "medium_threshold": None,
                     "blind": {"samples": 5, "significance": 0.05, "on_answerable": "reject"}}
    given = parse_manifest({"sources": source, "difficulty": {"solver": {"model": "m"}}}, ".").difficulty["solver"]
    assert given["model"] == "m" and given["max_retries"] == 5 and given["cache_location"] is None
    with pytest.raises(ManifestError, match="medium_threshold <= easy_threshold"):
        parse_manifest({"sources": source, "difficulty": {"medium_threshold": 0.8}}, ".")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f"sources: [{{name: s, kind: folder, location: {tmp_path}, licence: l, attribution: a}}]\n"
                        "difficulty: {solver: {modle: m}}\n")
    assert cli.main(["build", "--manifest", str(manifest), "--output", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "difficulty.solver: unknown key 'modle'" in error


def test_build_with_solver_flags_reports_the_solver_and_levels(photo_manifest, tmp_path, capsys):
    photo_manifest.write_text(photo_manifest.read_text() + "difficulty:\n  solver: {retry_base_delay: 0.01, image_side: 64}\n")
    output = tmp_path / "out"
    with SolverServer() as server:
        argv = ["build", "--manifest", str(photo_manifest), "--output", str(output),
                "--solver-base-url", server.base_url, "--solver-model", "fake-solver", "--solver-samples", "4"]
        assert cli.main(argv) == 0
        report = json.loads((output / "report.json").read_text())
        samples = list(iter_samples(shard_paths(str(output))))
        assert cli.main([*argv, "--overwrite"]) == 0
        rerun = json.loads((output / "report.json").read_text())
    assert "solver: " in capsys.readouterr().out
    solver = report["solver"]
    assert solver["model"] == "fake-solver" and solver["draws_per_sample"] == 4
    assert solver["scored"] == len(samples) == report["samples"]["written"] > 0
    # The blind check is on by default: 5 more draws per sample, without the images, each draw 2
    # (of either kind) failing once first; none of POLICY's first five draws beats chance by much.
    assert solver["blind"]["draws_per_sample"] == 5 and solver["blind"]["draws"] == 5 * len(samples)
    assert solver["blind"]["checked"] == len(samples) and solver["blind"]["answerable"] == 0
    assert solver["calls"] == len(server.log) - rerun["solver"]["calls"] == (5 + 6) * len(samples)
    # The rerun asks again only the unparseable fourth draw of either kind: its reply was not stored.
    assert rerun["solver"]["calls"] == 2 * len(samples) and rerun["solver"]["cache_hits"] == (3 + 4) * len(samples)
    levels = collections.Counter((s["task"], s["difficulty"]["level"]) for s in samples)
    assert report["difficulty"] == {task: {lv: n for (t, lv), n in levels.items() if t == task} for task, _ in levels}
    for sample in samples:
        labels = [sample["options"][0]["label"] if label == FIRST else label for _, label in POLICY[:5]]
        rate = sum(label == sample["answer"] for label in labels[:4]) / 4
        blind = sum(label == sample["answer"] for label in labels) / 5   # the unparsed draw counts as wrong
        assert sample["difficulty"] == {"level": "easy" if rate >= 0.7 else "hard", "pass_rate": rate,
                                        "samples": 4, "method": "solver:fake-solver", "blind_pass_rate": blind,
                                        "blind_samples": 5, "multimodal_gain": round(rate - blind, 4),
                                        "answerable_without_images": False}
    assert {r["question"] for r in server.log if not r["blind"]} == {s["question"] for s in samples}
    assert {r["question"] for r in server.log if r["blind"]} == {s["question"].replace("<image>", "") for s in samples}
    assert (output / "llm_cache").is_dir()


def test_the_answer_schema_meets_strict_structured_outputs_rules():
    # Strict mode wants every property typed and required and no other keys: an enum alone is refused.
    sent = strict_schema(answer_schema([{"label": "A", "text": "x"}, {"label": "B", "text": "y"}]))
    assert sent == {"type": "object", "additionalProperties": False, "required": ["answer"],
                    "properties": {"answer": {"type": "string", "enum": ["A", "B"]}}}
