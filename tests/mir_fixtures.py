"""Valid records in both formats, with real images, for the judge, validate and convert tests."""
import copy
import hashlib
import io
import json
import pathlib

import numpy as np
from PIL import Image

from pipeline.images.phash import phash_hex


def jpeg_bytes(seed: int, size=(64, 48)) -> bytes:
    """A small JPEG, distinct per seed."""
    out = io.BytesIO()
    rng = np.random.default_rng(seed)
    coarse = (rng.random((4, 4, 3)) * 255).astype("uint8")
    Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC).save(out, format="JPEG", quality=90)
    return out.getvalue()


def image_facts(data: bytes, uri: str) -> dict:
    img = Image.open(io.BytesIO(data))
    return {"uri": uri, "width": img.width, "height": img.height,
            "sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data), "phash": phash_hex(img.convert("RGB")),
            "derived_from": None, "transform": None}


def interleaved_question(count: int, question: str) -> str:
    """Each image in a sentence of its own, then the question: interleaved as MIR's are."""
    return " ".join(f"Photo {i} was taken in room {chr(64 + i)}: <image>." for i in range(1, count + 1)) + " " + question


def sample_record(count: int = 3) -> dict:
    """A valid sample in this project's format, images embedded as raw bytes (as in the
    pipeline and in Parquet)."""
    data = [jpeg_bytes(i) for i in range(count)]
    facts = [image_facts(d, f"photos/p{i}.jpg") for i, d in enumerate(data)]
    facts[-1]["uri"] = f"derived:{facts[-1]['sha256']}"
    facts[-1]["derived_from"] = facts[0]["sha256"]
    facts[-1]["transform"] = "crop [0.100,0.100,0.600,0.600]"
    images = [{"bytes": d, "path": f"p{i}.jpg"} for i, d in enumerate(data)]
    images[-1]["path"] = f"{facts[-1]['sha256']}.jpg"
    question = interleaved_question(count, "Which image shows the red ball?")
    return {
        "id": "location_relationship-0123456789abcdef", "context_id": "fedcba9876543210",
        "task": "location_relationship", "category": "spatial", "split": "test",
        "images": images, "image_facts": facts, "question": question,
        "options": [{"label": "A", "text": "Image 1"}, {"label": "B", "text": "Image 2"},
                    {"label": "C", "text": "Image 3"}],
        "answer": "B",
        "reasoning": {
            "summary": "Three photos; one of them shows a red ball.",
            "captions": [f"Photo {i}." for i in range(1, count + 1)],
            "text2region": [{"text": "the red ball", "image": 2, "bbox": [0.1, 0.2, 0.5, 0.6], "label": "ball"}],
            "region2region": [{"from": {"image": 2, "label": "ball", "bbox": [0.1, 0.2, 0.5, 0.6]},
                               "to": {"image": 1, "label": "table", "bbox": [0.0, 0.5, 1.0, 1.0]},
                               "relation": "left of", "explanation": "The ball is left of the table."}],
            "conclusion": "Only image 2 shows the red ball. Answer: B",
        },
        "difficulty": {"level": "easy", "pass_rate": None, "samples": 0, "method": "heuristic:v1"},
        "provenance": {"sources": [{"name": "photos", "licence": "CC0-1.0", "attribution": "tests"}],
                       "drafter": "grounded", "model": None, "prompt_id": "location_relationship",
                       "prompt_hash": "0123456789ab", "template": "which_image", "pipeline_version": "0.1.0",
                       "seed": 7},
        "ground_truth": {"verified": True, "method": "metadata:bbox"},
    }


def json_sample(record: dict) -> dict:
    """The sample as JSON carries it: bytes as base64 text."""
    from pipeline.samples.judge import json_form
    return json_form(copy.deepcopy(record))


def write_images(folder, count: int = 3, prefix: str = "img") -> list:
    """JPEG files in ``folder``; their names relative to it."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(count):
        name = f"{prefix}{i}.jpg"
        (folder / name).write_bytes(jpeg_bytes(100 + i))
        names.append(name)
    return names


def mir_record(images: list, **changes) -> dict:
    """A valid MIR-native record over ``images`` (paths), dict options, a caption list."""
    count = len(images)
    record = {
        "images": list(images),
        "question": interleaved_question(count, "Which image is brightest?"),
        "options": {label: f"Image {i}" for i, label in enumerate("ABCDEF"[:count], start=1)},
        "summary": "Several photos; the question asks which is the brightest.",
        "caption": [f"A photo, number {i}." for i in range(1, count + 1)],
        "text2img": "The sky in image 2 is the largest bright area.",
        "img2img": "Image 2 is brighter than image 1 and image 3.",
        "conclusion": "B",
    }
    record.update(changes)
    return record


def mir_list_style(images: list) -> dict:
    """A valid MIR-native record in the other style: listed "A. text" options, one caption
    string, numbered placeholders, a sentence conclusion, reasoning, an answer and an id."""
    count = len(images)
    return {
        "id": 17, "task": "Depth Relationship", "category": "Spatial",
        "images": list(images),
        "question": " ".join(f"The car in <image{i}> is parked on street {i}." for i in range(1, count + 1))
                    + " Which image shows the nearest car?",
        "options": [f"{label}. Image {i}" for i, label in enumerate("ABCDEF"[:count], start=1)],
        "answer": "C",
        "summary": "Photos of cars at different distances.",
        "caption": " ".join(f"Image {i}: a car, photo {i}." for i in range(1, count + 1)),
        "text2img": ["Image 1: the car is small.", f"Image {count}: the car fills the frame."],
        "img2img": "The car of the last image is the largest, so it is the nearest.",
        "reasoning": "Apparent size grows as distance shrinks.",
        "conclusion": f"The car in image {count} is nearest, so the answer is C.",
    }


def dump(path, value) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))
    return path


def write_sized_images(folder, sizes: list, prefix: str = "sized") -> list:
    """One JPEG per (width, height) in ``folder``; their names relative to it. Sizes that differ
    tell pixel boxes from normalised or 0-999 grid ones, and x from y."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, size in enumerate(sizes):
        name = f"{prefix}{i}.jpg"
        (folder / name).write_bytes(jpeg_bytes(200 + i, size=size))
        names.append(name)
    return names
