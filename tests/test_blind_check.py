"""The blind check (MMStar's filter): a real loopback Chat Completions server answers each request
from a table the test writes (with the images: right on every draw but the last; without them: as
many draws right as the table says for that question), the real openai client, ScoreDifficulty in
a real Beam pipeline, and whole builds through the command line: the reject, the flag mode, the
difficulty record, report.json's figures and the card's text."""
import json
import re

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from fake_openai_server import FakeOpenAIServer, completion
from mir_fixtures import sample_record

from pipeline import cli
from pipeline.difficulty.blind import binomial_tail, blind_verdict, fewest_draws
from pipeline.difficulty.solver import solver_report
from pipeline.manifest import parse_manifest
from pipeline.readback.shards import iter_samples, shard_paths
from pipeline.stages.score_difficulty import ScoreDifficulty

OPTION_LINE = re.compile(r"^([A-H])\. (.*)$", re.M)
WITH_IMAGES = 4   # draws with the images: right on all but the last, a pass rate of 0.75


def question_key(question: str) -> str:
    """The question's words without its images, as both kinds of request carry them."""
    return " ".join(question.replace("<image>", " ").split())


class TableServer(FakeOpenAIServer):
    """``answers``: question key -> the right label; ``blind_right``: question key -> how many
    blind draws (seeds 0, 1, ...) are answered right (absent: none; None: every blind request
    fails with a 500). With the images, draws right but the last of WITH_IMAGES."""

    def __init__(self, answers: dict, blind_right: dict):
        super().__init__()
        self.answers, self.blind_right = answers, blind_right

    def _note(self, body: dict, headers) -> dict:
        entry = super()._note(body, headers)
        user = body["messages"][1]["content"]
        with self.lock:
            entry.update(seed=body["seed"], key=" ".join(" ".join(p["text"] for p in user[:-1] if p["type"] == "text").split()),
                         images=sum(p["type"] == "image_url" for p in user), system=body["messages"][0]["content"])
        return entry

    def respond(self, body: dict, entry: dict):
        key, seed = entry["key"], entry["seed"]
        if not entry["images"] and key in self.blind_right and self.blind_right[key] is None:
            return 500, {}, {"error": {"message": "down", "type": "server_error"}}
        labels = OPTION_LINE.findall(body["messages"][1]["content"][-1]["text"])
        right = self.answers[key]
        wrong = next(label for label, _ in labels if label != right)
        correct = seed < self.blind_right.get(key, 0) if not entry["images"] else seed < WITH_IMAGES - 1
        return 200, {}, completion(json.dumps({"answer": right if correct else wrong}))


# --- the test itself, by hand -----------------------------------------------------------------

def test_binomial_tail_and_the_draws_a_verdict_needs():
    assert binomial_tail(4, 5, 1 / 4) == pytest.approx(0.015625)        # 5 * (1/4)^4 * 3/4 + (1/4)^5
    assert binomial_tail(3, 5, 1 / 4) == pytest.approx(0.103515625)     # + 10 * (1/4)^3 * (3/4)^2
    assert binomial_tail(5, 5, 1 / 2) == pytest.approx(0.03125)
    assert binomial_tail(0, 5, 1 / 3) == pytest.approx(1.0)
    # n of n right is significant at 0.05 from: 5 draws for 2 options, 3 for 3 or 4, 2 for 5 or 6.
    assert [fewest_draws(m, 0.05) for m in (2, 3, 4, 5, 6)] == [5, 3, 3, 2, 2]
    assert fewest_draws(4, 0.01) == 4                                    # (1/4)^3 = 0.0156 > 0.01


def test_few_draws_cannot_find_a_sample_answerable():
    assert not blind_verdict(1, 1, 4, 0.05).answerable                   # p = 0.25
    assert not blind_verdict(2, 2, 4, 0.05).answerable                   # p = 0.0625
    assert blind_verdict(3, 3, 4, 0.05).answerable                       # p = 0.0156
    assert not blind_verdict(3, 5, 4, 0.05).answerable                   # p = 0.1035
    assert blind_verdict(4, 5, 4, 0.05).answerable
    assert not blind_verdict(4, 5, 2, 0.05).answerable                   # p = 6/32
    assert blind_verdict(4, 5, 4, 0.05).detail(0.05) == \
        "blind right 4 of 5, chance 1/4: one-sided binomial p = 0.0156 <= 0.05"


# --- the stage in a Beam pipeline --------------------------------------------------------------

def _sample(n: int, answer: str) -> dict:
    record = sample_record(3)   # three options, A to C
    question = record["question"].replace("Which image shows the red ball?", f"Which image shows red ball number {n}?")
    return dict(record, id=f"location_relationship-{n:016x}", context_id=f"{n:016x}", question=question,
                answer=answer, difficulty=None)


# Five samples of three options (chance 1/3), five blind draws each:
#   0: 5 of 5 right  p = (1/3)^5 = 0.0041      answerable
#   1: 4 of 5 right  p = 11/243 = 0.0453       answerable
#   2: 3 of 5 right  p = 51/243 = 0.2099       not
#   3: none right                              not
#   4: every blind request fails               unchecked
SAMPLES = [_sample(n, answer) for n, answer in enumerate("BACBA")]
BLIND_RIGHT = {question_key(s["question"]): right for s, right in zip(SAMPLES, (5, 4, 3, 0, None))}
ANSWERS = {question_key(s["question"]): s["answer"] for s in SAMPLES}


def difficulty_settings(server, tmp_path, on_answerable: str) -> dict:
    solver = {"base_url": server.base_url, "model": "fake-solver", "concurrency": 4, "timeout": 5,
              "max_retries": 1, "retry_base_delay": 0.01, "retry_max_delay": 0.02, "image_side": 64,
              "cache_location": str(tmp_path / "solver_cache"), "prices": {}}
    return parse_manifest({"sources": [{"name": "s", "kind": "folder", "location": "x", "licence": "l",
                                        "attribution": "a"}],
                           "difficulty": {"solver": solver, "samples": WITH_IMAGES,
                                          "blind": {"on_answerable": on_answerable}}}, ".").difficulty


def run_stage(difficulty: dict, kept: list, rejected: list) -> dict:
    """ScoreDifficulty over SAMPLES; asserts its (id, difficulty) pairs and (subject, reason,
    detail) rejects; returns the solver's counters."""
    pipeline = TestPipeline()
    out = pipeline | beam.Create(SAMPLES) | ScoreDifficulty(difficulty)
    assert_that(out["samples"] | beam.Map(lambda s: (s["id"], json.dumps(s["difficulty"], sort_keys=True))),
                equal_to([(i, json.dumps(d, sort_keys=True)) for i, d in kept]), label="kept")
    assert_that(out["rejects"] | beam.Map(lambda r: (r["stage"], r["subject"], r["reason"], r["detail"])),
                equal_to(rejected), label="rejects")
    result = pipeline.run()
    result.wait_until_finish()
    return {f"solver.{c.key.metric.name}": c.committed for c in result.metrics().query()["counters"]
            if c.key.metric.namespace == "solver"}


def expected(blind_right, answerable) -> dict:
    with_images = {"level": "easy", "pass_rate": 0.75, "samples": WITH_IMAGES, "method": "solver:fake-solver"}
    if blind_right is None:
        return dict(with_images, blind_pass_rate=None, blind_samples=0, multimodal_gain=None,
                    answerable_without_images=None)
    return dict(with_images, blind_pass_rate=blind_right / 5, blind_samples=5,
                multimodal_gain=round(0.75 - blind_right / 5, 4), answerable_without_images=answerable)


def test_the_stage_rejects_what_the_blind_solver_answers_and_a_flag_keeps_it(tmp_path):
    ids = [s["id"] for s in SAMPLES]
    with TableServer(ANSWERS, BLIND_RIGHT) as server:
        counters = run_stage(
            difficulty_settings(server, tmp_path, "reject"),
            kept=[(ids[2], expected(3, False)), (ids[3], expected(0, False)), (ids[4], expected(None, None))],
            rejected=[("score_difficulty", SAMPLES[0]["context_id"], "answerable_without_images",
                       f"blind right 5 of 5, chance 1/3: one-sided binomial p = {(1 / 3) ** 5:.3g} <= 0.05"),
                      ("score_difficulty", SAMPLES[1]["context_id"], "answerable_without_images",
                       f"blind right 4 of 5, chance 1/3: one-sided binomial p = {11 / 243:.3g} <= 0.05")])
        first = list(server.log)
        # Flagging instead: every sample kept, the same answers from the cache; only the blind
        # requests that failed (never cached) are asked again.
        again = run_stage(difficulty_settings(server, tmp_path, "flag"),
                          kept=[(ids[0], expected(5, True)), (ids[1], expected(4, True)), *(
                              (i, expected(r, False if r is not None else None)) for i, r in zip(ids[2:], (3, 0, None)))],
                          rejected=[])
        again_asked = server.log[len(first):]

    blind = [r for r in first if not r["images"]]
    shown = [r for r in first if r["images"]]
    # Each blind draw is a request of its own, with no image and its own system prompt; 1 retry per failure.
    assert len(shown) == 5 * WITH_IMAGES and {r["images"] for r in shown} == {3}
    assert len(blind) == 4 * 5 + 5 * 2 and {r["seed"] for r in blind} == set(range(5))
    assert {r["system"] for r in blind}.isdisjoint({r["system"] for r in shown})
    assert len(list((tmp_path / "solver_cache").rglob("*.json"))) == 5 * WITH_IMAGES + 4 * 5

    assert {k: counters[k] for k in ("solver.draws", "solver.blind.draws", "solver.blind.right", "solver.blind.failed",
                                     "solver.blind.checked", "solver.blind.answerable", "solver.blind.unchecked")} == {
        "solver.draws": 20, "solver.blind.draws": 25, "solver.blind.right": 5 + 4 + 3, "solver.blind.failed": 5,
        "solver.blind.checked": 4, "solver.blind.answerable": 2, "solver.blind.unchecked": 1}
    assert again["solver.cache_hits"] == 5 * WITH_IMAGES + 4 * 5
    assert len(again_asked) == 5 * 2 and {r["key"] for r in again_asked} == {question_key(SAMPLES[4]["question"])}
    report = solver_report(counters, difficulty_settings(server, tmp_path, "reject"))["blind"]
    assert report == {"draws": 25, "right": 12, "failed": 5, "unparsed": 0, "checked": 4, "answerable": 2,
                      "unchecked": 1, "draws_per_sample": 5, "significance": 0.05, "on_answerable": "reject",
                      "prompt_id": "prompts/solver_blind.md", "prompt_hash": report["prompt_hash"],
                      "pass_rate": 0.6}   # 12 right of the 20 blind draws that were answered


def test_the_blind_check_can_be_turned_off(tmp_path):
    with TableServer(ANSWERS, BLIND_RIGHT) as server:
        difficulty = difficulty_settings(server, tmp_path, "reject")
        difficulty = dict(difficulty, blind=dict(difficulty["blind"], samples=0))
        base = {"level": "easy", "pass_rate": 0.75, "samples": WITH_IMAGES, "method": "solver:fake-solver"}
        counters = run_stage(difficulty, kept=[(s["id"], base) for s in SAMPLES], rejected=[])
        assert all(r["images"] for r in server.log)
    assert "solver.blind.draws" not in counters
    assert solver_report(counters, difficulty)["blind"] is None


# --- whole builds --------------------------------------------------------------------------------

def _build(manifest, output, server, *extra) -> tuple:
    argv = ["build", "--manifest", str(manifest), "--output", str(output), "--overwrite",
            "--solver-base-url", server.base_url, "--solver-model", "fake-solver",
            "--solver-samples", str(WITH_IMAGES), *extra]
    assert cli.main(argv) == 0
    report = json.loads((output / "report.json").read_text())
    return report, list(iter_samples(shard_paths(str(output)))), (output / "README.md").read_text()


def test_builds_reject_or_flag_leaky_samples_and_report_blind_and_multimodal_figures(photo_manifest, tmp_path, capsys):
    output = tmp_path / "out"
    # A build without a solver gives the questions and their answers; every other one (by id) leaks.
    assert cli.main(["build", "--manifest", str(photo_manifest), "--output", str(output)]) == 0
    photo_manifest.write_text(photo_manifest.read_text() + "difficulty:\n  solver: {retry_base_delay: 0.01, image_side: 64}\n")
    drafted = sorted(iter_samples(shard_paths(str(output))), key=lambda s: s["id"])
    leaky = {s["id"] for s in drafted[::2]}
    answers = {question_key(s["question"]): s["answer"] for s in drafted}
    blind_right = {question_key(s["question"]): 5 if s["id"] in leaky else 1 for s in drafted}
    tasks = sorted({s["task"] for s in drafted})
    assert leaky and len(leaky) < len(drafted)
    capsys.readouterr()

    with TableServer(answers, blind_right) as server:
        report, samples, card = _build(photo_manifest, output, server)
        summary = capsys.readouterr().out
        rejects = [json.loads(line) for line in (output / "rejects" / "score_difficulty.jsonl").read_text().splitlines()]
        photo_manifest.write_text(photo_manifest.read_text() + "  blind: {on_answerable: flag}\n")
        flagged_report, flagged_samples, flagged_card = _build(photo_manifest, output, server)
        asked = len(server.log)
    assert flagged_report["solver"]["calls"] == 0 and asked == len(drafted) * (WITH_IMAGES + 5)

    # Reject: the leaky samples are gone, each with its reason and test; the rest are kept unflagged.
    assert sorted(s["id"] for s in samples) == sorted(s["id"] for s in drafted if s["id"] not in leaky)
    by_context = {s["context_id"]: s for s in drafted}
    assert sorted(r["subject"] for r in rejects) == sorted(s["context_id"] for s in drafted if s["id"] in leaky)
    for r in rejects:
        m = len(by_context[r["subject"]]["options"])
        test = f"blind right 5 of 5, chance 1/{m}: one-sided binomial p = {(1 / m) ** 5:.3g} <= 0.05"
        assert (r["reason"], r["detail"]) == ("answerable_without_images", test)
    for s in samples:
        assert s["difficulty"] == {"level": "easy", "pass_rate": 0.75, "samples": WITH_IMAGES,
                                   "method": "solver:fake-solver", "blind_pass_rate": 0.2, "blind_samples": 5,
                                   "multimodal_gain": 0.55, "answerable_without_images": False}
    assert report["conservation"]["contexts"]["holds"]
    per_task = {t: (sum(s["task"] == t and s["id"] in leaky for s in drafted),
                    sum(s["task"] == t and s["id"] not in leaky for s in drafted)) for t in tasks}
    blind = report["blind"]
    assert (blind["draws_per_sample"], blind["significance"], blind["on_answerable"]) == (5, 0.05, "reject")
    assert blind["by_task"] == {t: {"samples_checked": fair, "blind_pass_rate": 0.2 if fair else None,
                                    "pass_rate": 0.75 if fair else None, "multimodal_gain": 0.55 if fair else None,
                                    "rejected": leaks, "flagged": 0} for t, (leaks, fair) in per_task.items()}
    assert blind["all"] == {"samples_checked": len(samples), "blind_pass_rate": 0.2, "pass_rate": 0.75,
                            "multimodal_gain": 0.55, "rejected": len(leaky), "flagged": 0}
    solver = report["solver"]["blind"]
    assert (solver["checked"], solver["answerable"], solver["draws"]) == (len(drafted), len(leaky), 5 * len(drafted))
    assert solver["pass_rate"] == round((5 * len(leaky) + len(samples)) / (5 * len(drafted)), 4)
    assert f"{len(leaky)} of {len(drafted)} answerable without images (rejected)" in summary
    assert "## Blind check" in card and f"{len(leaky)} rejected,\n0 flagged" in card
    assert "right 20% of the time\nwithout the images and 75% with them: a multimodal gain of\n+55 points." in card
    for t, (leaks, fair) in per_task.items():
        if fair:
            assert f"| {t} | {fair} | 20% | 75% | +55 points | {leaks} | 0 |" in card
        else:
            assert f"| {t} | 0 | - | - | - | {leaks} | 0 |" in card

    # Flag: every sample kept, the leaky ones flagged; the figures count them too.
    assert sorted(s["id"] for s in flagged_samples) == [s["id"] for s in drafted]
    for s in flagged_samples:
        blind_rate = 1.0 if s["id"] in leaky else 0.2
        assert s["difficulty"]["answerable_without_images"] is (s["id"] in leaky)
        assert (s["difficulty"]["blind_pass_rate"], s["difficulty"]["multimodal_gain"]) == \
            (blind_rate, round(0.75 - blind_rate, 4))
    for t, (leaks, fair) in per_task.items():
        rate = (5 * leaks + fair) / (5 * (leaks + fair))
        assert flagged_report["blind"]["by_task"][t] == {
            "samples_checked": leaks + fair, "blind_pass_rate": round(rate, 4), "pass_rate": 0.75,
            "multimodal_gain": round(0.75 - rate, 4), "rejected": 0, "flagged": leaks}
    assert flagged_report["blind"]["all"]["flagged"] == len(leaky)
    assert "kept and flagged" in flagged_card and f"0 rejected,\n{len(leaky)} flagged" in flagged_card
    assert cli.main(["validate", str(output)]) == 0


def test_a_build_without_a_solver_reports_no_blind_check(photo_manifest, tmp_path):
    output = tmp_path / "out"
    assert cli.main(["build", "--manifest", str(photo_manifest), "--output", str(output)]) == 0
    report = json.loads((output / "report.json").read_text())
    assert report["blind"] is None and "solver" not in report
    assert "## Blind check" not in (output / "README.md").read_text()
