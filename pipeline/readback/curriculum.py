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

from ..samples.mir_format import box_text
from .shards import ImageFiles, ShardsError, iter_samples, shard_paths, shard_split

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


def _region(ref) -> str:
    return f"the {ref['label']} in Image {ref['image']} {box_text(ref['bbox'])}"


def step_components(reasoning: dict, step: str) -> list:
    """The texts one reasoning step is made of, as they are written into the file: one per
    caption, grounded phrase or relation; one for the summary and for the conclusion."""
    if step == "captions":
        return [f"Image {i}: {caption}" for i, caption in enumerate(reasoning["captions"], 1)]
    if step == "text2region":
        return [f"\"{t['text']}\" is {_region(t)}" for t in reasoning["text2region"]]
    if step == "region2region":
        return [f"{_region(r['from'])} {r['relation']} {_region(r['to'])}: {r['explanation']}"
                for r in reasoning["region2region"]]
    return [reasoning[step]]


def render_step(reasoning: dict, step: str) -> str:
    if step in ("summary", "conclusion"):
        return f"{_TITLES[step]}: {reasoning[step]}"
    items = step_components(reasoning, step)
    return f"{_TITLES[step]}:\n" + ("\n".join(f"- {item}" for item in items) if items else "- none")


def _instruction(stage: Stage) -> str:
    names = ", ".join(_TITLES[step] for step in stage.target_steps)
    if stage.given:
        return f"The first reasoning steps are given above. Continue with the remaining steps ({names}), then state the answer."
    if stage.guided:
        return f"Reason in five steps ({names}), then state the answer."
    return ""


def prompt(sample: dict, stage: Stage) -> str:
    """The input of one staged variant: the interleaved question, its options, the given steps."""
    parts = [sample["question"], "Options:\n" + "\n".join(f"{o['label']}. {o['text']}" for o in sample["options"])]
    given = STEPS[:stage.given]
    if given:
        parts.append("Reasoning so far:\n" + "\n".join(render_step(sample["reasoning"], s) for s in given))
    parts.append(_instruction(stage))
    return "\n\n".join(p for p in parts if p)


def target(sample: dict, stage: Stage) -> str:
    return "\n".join(render_step(sample["reasoning"], step) for step in stage.target_steps)


def _turns(sample, stage):
    return prompt(sample, stage), target(sample, stage)


def _swift(sample, stage):
    user, assistant = _turns(sample, stage)
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}],
            "images": sample["images"]}


def _llava(sample, stage):
    human, gpt = _turns(sample, stage)
    return {"id": f"{sample['id']}:{stage.name}", "image": sample["images"],
            "conversations": [{"from": "human", "value": human}, {"from": "gpt", "value": gpt}]}


def _sharegpt(sample, stage):
    human, gpt = _turns(sample, stage)
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


def _check_placeholders(sample: dict) -> None:
    """Trainers pair the n-th ``<image>`` of the prompt with the n-th image, so the question must
    hold one per image and no other text a prompt may show can hold any."""
    in_question = sample["question"].count("<image>")
    if in_question != len(sample["images"]):
        raise CurriculumError(f"sample {sample['id']}: {in_question} <image> placeholders for {len(sample['images'])} images")
    if "<image>" in json.dumps([sample["options"], sample["reasoning"]]):
        raise CurriculumError(f"sample {sample['id']}: an <image> placeholder outside the question")


def _with_image_paths(sample: dict, images: ImageFiles) -> dict:
    """What the export keeps of a sample: its text, and its images as written files."""
    _check_placeholders(sample)
    kept = {key: sample[key] for key in ("id", "question", "options", "reasoning", "difficulty")}
    kept["images"] = images.names(sample)
    return kept


def export_curriculum(out: str, output: str, fmt: str, split: str = "train") -> dict:
    """Write the curriculum of the build at ``out`` to ``output`` (JSONL in format ``fmt``) and its
    images next to it as ``<output stem>_images/<sha256>.<ext>``; return what was written."""
    paths = [p for p in shard_paths(out) if split == "all" or shard_split(p) == split]
    if not paths:
        raise ShardsError(f"{out} has no {split} samples (choose another --split)")
    root = posixpath.dirname(output) or "."
    stem = posixpath.splitext(posixpath.basename(output))[0]
    images = ImageFiles(root, f"{stem}_images")
    samples = [_with_image_paths(sample, images) for sample in iter_samples(paths)]
    to_record = FORMATS[fmt]
    records = 0
    # Written whole under a temporary name, then renamed: an interrupted export leaves the
    # previous file (if any) as it was, never a part of a new one.
    partial = output + ".mir-partial"
    with FileSystems.create(partial, mime_type="application/jsonl", compression_type="uncompressed") as f:
        for sample, stage in ordered_variants(samples):
            f.write((json.dumps(to_record(sample, stage), ensure_ascii=False) + "\n").encode("utf-8"))
            records += 1
    FileSystems.rename([partial], [output])
    levels = {level: sum(s["difficulty"]["level"] == level for s in samples) for level in LEVELS}
    return {"records": records, "samples": len(samples), "stages": len(STAGES), "levels": levels,
            "images": images.count, "images_folder": FileSystems.join(root, f"{stem}_images")}
