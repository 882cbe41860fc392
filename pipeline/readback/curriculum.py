"""The MIR curriculum as a training file: every sample in five staged variants that move from
guided to autonomous reasoning, samples ordered easy to hard.

The five reasoning steps are an ordered chain; each stage shows the first ``given`` steps in the
input and asks for the rest as the target, so by construction no step is both given and asked.
Stage 1 and stage 5 both ask for the whole chain: stage 1 names the steps to produce, stage 5
shows the bare question only.
"""
import dataclasses
import json
import posixpath

from apache_beam.io.filesystems import FileSystems

from ..safe_files import NewFile
from ..samples.mir_format import PLACEHOLDER, placeholders
from .boxes import STYLES, TextBoxes
from .inputs import read_samples
from .shards import ImageFiles, ImageTable, ShardsError

STEPS = ("summary", "captions", "text2region", "region2region", "conclusion")
_TITLES = {"summary": "Summary", "captions": "Caption", "text2region": "Text2Region",
           "region2region": "Region2Region", "conclusion": "Conclusion"}
LEVELS = ("easy", "medium", "hard")
SPLITS = ("train", "test", "all")


@dataclasses.dataclass(frozen=True)
class Stage:
    number: int
    name: str
    given: int      # how many leading reasoning steps the input shows; the rest are the target
    guided: bool    # whether the input names the steps to produce

    @property
    def target_steps(self) -> tuple:
        return STEPS[self.given:]


STAGES = (
    Stage(1, "full_chain", 0, guided=True),
    Stage(2, "conclusion", 4, guided=True),
    Stage(3, "region2region", 3, guided=True),
    Stage(4, "grounding", 2, guided=True),
    Stage(5, "bare_question", 0, guided=False),
)


class CurriculumError(Exception):
    """A sample cannot become a training record (e.g. placeholders and images disagree)."""


def step_components(sample: dict, step: str, boxes=None) -> list:
    """The texts one reasoning step is made of, as they are written into the file: one per
    caption, grounded phrase or relation; one for the summary and for the conclusion. A sample
    converted from MIR adds the texts of the step no structured entry could hold (its
    ``mir_native``); MIR's own free ``reasoning`` goes with Region2Region, the step MIR's
    curriculum (MIRBench preprocess.py) always gives or asks together with it."""
    boxes = boxes or TextBoxes()
    reasoning, native = sample["reasoning"], sample.get("mir_native") or {}
    if step == "captions":
        return [f"Image {i}: {caption}" for i, caption in enumerate(reasoning["captions"], 1)]
    if step == "text2region":
        return [f"\"{t['text']}\" is {boxes.region(t)}" for t in reasoning["text2region"]] + \
            list(native.get("text2img") or [])
    if step == "region2region":
        return [f"{boxes.region(r['from'])} {r['relation']} {boxes.region(r['to'])}: {r['explanation']}"
                for r in reasoning["region2region"]] + list(native.get("img2img") or []) + \
            list(native.get("reasoning") or [])
    return [reasoning[step]]


def render_step(sample: dict, step: str, boxes) -> str:
    if step in ("summary", "conclusion"):
        return f"{_TITLES[step]}: {sample['reasoning'][step]}"
    items = step_components(sample, step, boxes)
    return f"{_TITLES[step]}:\n" + ("\n".join(f"- {item}" for item in items) if items else "- none")


def _instruction(stage: Stage) -> str:
    names = ", ".join(_TITLES[step] for step in stage.target_steps)
    if stage.given:
        return f"The first reasoning steps are given above. Continue with the remaining steps ({names}), then state the answer."
    if stage.guided:
        return f"Reason in five steps ({names}), then state the answer."
    return ""


def prompt(sample: dict, stage: Stage, boxes=None) -> str:
    """The input of one staged variant: the interleaved question, its options, the given steps."""
    parts = [sample["question"], "Options:\n" + "\n".join(f"{o['label']}. {o['text']}" for o in sample["options"])]
    given = STEPS[:stage.given]
    if given:
        parts.append("Reasoning so far:\n" + "\n".join(render_step(sample, s, boxes) for s in given))
    parts.append(_instruction(stage))
    return "\n\n".join(p for p in parts if p)


def target(sample: dict, stage: Stage, boxes=None) -> str:
    return "\n".join(render_step(sample, step, boxes) for step in stage.target_steps)


def _turns(sample, stage, boxes):
    # The input first: ms-swift fills its placeholders in reading order, user turn first.
    return prompt(sample, stage, boxes), target(sample, stage, boxes)


def _swift(sample, stage, boxes):
    user, assistant = _turns(sample, stage, boxes)
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}],
            "images": sample["images"], **boxes.fields()}


def _llava(sample, stage, boxes):
    human, gpt = _turns(sample, stage, boxes)
    return {"id": f"{sample['id']}:{stage.name}", "image": sample["images"],
            "conversations": [{"from": "human", "value": human}, {"from": "gpt", "value": gpt}]}


def _sharegpt(sample, stage, boxes):
    human, gpt = _turns(sample, stage, boxes)
    return {"conversations": [{"from": "human", "value": human}, {"from": "gpt", "value": gpt}],
            "images": sample["images"]}


FORMATS = {"swift": _swift, "llava": _llava, "sharegpt": _sharegpt}


def difficulty_order(sample: dict) -> tuple:
    """Easy before medium before hard; within a level a higher solver pass rate first (samples
    without one after), then the id, so the order never depends on how shards were read."""
    difficulty = sample["difficulty"]
    pass_rate = difficulty["pass_rate"]
    return (LEVELS.index(difficulty["level"]), pass_rate is None, -(pass_rate or 0.0), sample["id"])


def ordered_variants(samples: list):
    """(sample, stage) in curriculum order: by difficulty level, then stage, then within a level
    by ``difficulty_order``; the file is easy to hard overall and guided to autonomous per level."""
    ordered = sorted(samples, key=difficulty_order)
    for level in LEVELS:
        at_level = [s for s in ordered if s["difficulty"]["level"] == level]
        for stage in STAGES:
            for sample in at_level:
                yield sample, stage


def _question_with_plain_placeholders(sample: dict) -> str:
    """The question with one ``<image>`` per image in order, as trainers pair the n-th
    ``<image>`` with the n-th image. MIR's numbered ``<image1>``..``<imageN>`` become ``<image>``
    when they come in image order; in any other order the pairing would be wrong."""
    question, count = sample["question"], len(sample["images"])
    found = placeholders(question)
    if found and all(n is not None for n in found):
        if found != list(range(1, count + 1)):
            raise CurriculumError(f"sample {sample['id']}: numbered placeholders {', '.join(f'<image{n}>' for n in found)} "
                                  f"are not <image1>..<image{count}> in order")
        return PLACEHOLDER.sub("<image>", question)
    if found.count(None) != count or len(found) != count:
        raise CurriculumError(f"sample {sample['id']}: {found.count(None)} <image> placeholders for {count} images")
    return question


def _check_texts(sample: dict, boxes) -> None:
    """No text a prompt may show besides the question holds an image placeholder, and none
    holds a token the box style writes (it would be read as a box)."""
    besides_question = json.dumps([sample["options"], sample["reasoning"], sample.get("mir_native")])
    if "<image>" in besides_question:
        raise CurriculumError(f"sample {sample['id']}: an <image> placeholder outside the question")
    clashing = [token for token in boxes.reserved if token in sample["question"] + besides_question]
    if clashing:
        raise CurriculumError(f"sample {sample['id']}: its text holds {clashing[0]}, which --boxes "
                              f"{boxes.name} writes for boxes")


def _with_image_paths(sample: dict, images: ImageFiles, boxes) -> dict:
    """What the export keeps of a sample: its text, and its images as written files."""
    _check_texts(sample, boxes)
    kept = {key: sample[key] for key in ("id", "options", "reasoning", "difficulty")}
    kept["question"] = _question_with_plain_placeholders(sample)
    kept["mir_native"] = sample.get("mir_native")
    kept["images"] = images.names(sample)
    return kept


def export_curriculum(source: str, output: str, fmt: str, split: str = "train", boxes: str = "text",
                      left_out=None) -> dict:
    """Write the curriculum of the samples at ``source`` (a build, a folder of shards or a file of
    samples: ``inputs.read_samples``) to ``output`` (JSONL in format ``fmt``, boxes written as
    ``boxes`` says) and their images next to it as ``<output stem>_images/<sha256>.<ext>``;
    return what was written. An invalid sample is left out and counted; ``left_out(message)``
    hears why."""
    root = posixpath.dirname(output) or "."
    stem = posixpath.splitext(posixpath.basename(output))[0]
    images = ImageFiles(root, f"{stem}_images", ImageTable(source))
    reasons = []

    def leave_out(message: str) -> None:
        reasons.append(message)
        if left_out is not None:
            left_out(message)

    samples = [_with_image_paths(sample, images, STYLES[boxes]) for sample in read_samples(source, split, leave_out)]
    if not samples and reasons:     # nothing to train on: no file, the reasons already said
        return {"records": 0, "samples": 0, "stages": len(STAGES), "levels": {}, "images": 0,
                "images_folder": FileSystems.join(root, f"{stem}_images"), "left_out": len(reasons)}
    if not samples:
        raise ShardsError(f"{source} has no {split} samples (choose another --split)")
    to_record = FORMATS[fmt]
    records = 0
    # Written whole under a temporary name, then renamed: an interrupted export leaves the
    # previous file (if any) as it was, never a part of a new one. On local disk the temporary
    # file is a fresh one (safe_files.NewFile), so no link planted beside OUT is written through.
    local = FileSystems.get_scheme(output) is None
    new = NewFile(output) if local else None
    partial = output + ".mir-partial"
    f = new.file if local else FileSystems.create(partial, mime_type="application/jsonl",
                                                  compression_type="uncompressed")
    try:
        for sample, stage in ordered_variants(samples):
            record = to_record(sample, stage, STYLES[boxes]())
            f.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
            records += 1
    except BaseException:
        if local:
            new.abort()
        raise
    if local:
        new.commit()
    else:
        f.close()
        FileSystems.rename([partial], [output])
    levels = {level: sum(s["difficulty"]["level"] == level for s in samples) for level in LEVELS}
    return {"records": records, "samples": len(samples), "stages": len(STAGES), "levels": levels,
            "images": images.count, "images_folder": FileSystems.join(root, f"{stem}_images"),
            "left_out": len(reasons)}
