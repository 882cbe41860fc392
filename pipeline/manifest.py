"""Reading ``data_manifest.yaml``: validated against its schema before any work starts."""
import copy
import dataclasses
import os
import posixpath

import yaml
from apache_beam.io.filesystems import FileSystems

from .schemas import load_schema, validator


class ManifestError(ValueError):
    """A manifest that cannot be built from; the message is one line naming the key."""


# A manifest is a few kilobytes; these bound what a hostile or broken one can make mir hold.
MAX_MANIFEST_BYTES = 1_000_000
MAX_YAML_DEPTH = 64
_MAX_MESSAGE = 300


class _Refused(yaml.YAMLError):
    """YAML mir will not compose (an alias, nesting deeper than MAX_YAML_DEPTH)."""

    def __init__(self, problem: str, mark):
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark


class BoundedLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses anchors and aliases (an alias bomb of 700 bytes expands to
    gigabytes; no manifest needs one) and nesting deeper than MAX_YAML_DEPTH (the composer
    recurses, so deep nesting would otherwise end in RecursionError)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused("anchors and aliases (&, *) are not allowed", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _Refused(f"nested deeper than {MAX_YAML_DEPTH} levels", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str):
    """``text`` parsed with BoundedLoader: raises yaml.YAMLError (``problem`` and ``problem_mark``
    say what and where) for YAML that is invalid, uses aliases or nests too deeply."""
    return yaml.load(text, Loader=BoundedLoader)  # noqa: S506 - BoundedLoader is a SafeLoader


@dataclasses.dataclass(frozen=True)
class Source:
    name: str
    kind: str
    location: str
    licence: str
    attribution: str
    dedup_scope: str
    tasks: tuple
    frame_rate: float = 1.0  # video: frames sampled per second
    images: str = ""         # coco: folder of the images; "" means the JSON's folder
    allow_absolute: bool = False  # manifest: rows may name absolute paths and URIs
    classes: str = "mot17"   # mot: the benchmark whose table names gt.txt's class ids
    labels: tuple = ()       # mot: (class id, label or None) pairs over that table
    min_visibility: float = 0.25  # mot: boxes less visible than this are left out
    frame_step: int = 1      # mot: every frame_step-th frame is used
    up: str = "auto"         # views: the world's up axis, or "auto" (found from the poses)

    def feeds(self, task: str) -> bool:
        return not self.tasks or task in self.tasks


@dataclasses.dataclass(frozen=True)
class Manifest:
    name: str
    seed: int
    sources: tuple
    decode: dict
    dedup: dict
    grouping: dict
    drafter: dict
    difficulty: dict
    output: dict

    def source(self, name: str) -> Source:
        return next(s for s in self.sources if s.name == name)


def _path_of(error) -> str:
    parts = [_short(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "(top level)"


def _describe(error) -> str:
    """One line naming the offending key, e.g. ``sources.0: unknown key 'licnce'``."""
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"{_path_of(error)}: unknown key {_short(repr(extra[0]))} (allowed: {allowed})"
    return f"{_path_of(error)}: {_short(error.message)}"


def _short(text: str) -> str:
    """One line of at most _MAX_MESSAGE characters: jsonschema's messages quote the value, which
    may be long or span lines."""
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE - 3] + "..."



def _filled(spec: dict, given):
    """``given`` with the schema's defaults, recursing into nested sections (such as drafter.openai)."""
    if "$ref" in spec:
        spec = load_schema("manifest")["$defs"][spec["$ref"].rsplit("/", 1)[-1]]
    given = given or {}
    return {key: _filled_value(sub, given, key) for key, sub in spec["properties"].items()}


def _filled_value(sub: dict, given: dict, key: str):
    if "then" in sub:  # a nullable section ("if object then ..."): filled only when it is given
        return _filled(sub["then"], given[key]) if given.get(key) is not None else None
    if "properties" in sub or "$ref" in sub:
        return _filled(sub, given.get(key))
    return given[key] if key in given else _default(sub)


def _default(sub: dict):
    """The value of a key the manifest leaves out: the environment variable the schema names in
    ``environment`` (such as OPENAI_BASE_URL), when set and not empty, else the schema's default.
    The command line's overrides come later (run.py), so: flag > manifest > environment > default."""
    variable = sub.get("environment")
    return (variable and os.environ.get(variable)) or sub.get("default")


def endpoint_settings(given: dict) -> dict:
    """An endpoint section (``$defs/openai_drafter``) with the environment's values and the
    schema's defaults filled in."""
    return _filled({"$ref": "#/$defs/openai_drafter"}, given)


def _with_defaults(section: str, given: dict) -> dict:
    return _filled(load_schema("manifest")["properties"][section], given)


def _absolute(location: str, base: str) -> str:
    if "://" in location or posixpath.isabs(location):
        return location
    return posixpath.normpath(posixpath.join(base, location))


# Kinds whose images look alike by design (consecutive frames, renders of one object): not
# deduplicated unless the source asks.
_UNDEDUPLICATED_KINDS = ("mot", "views")


def _source(s: dict, base_dir: str) -> Source:
    scope_default = load_schema("manifest")["$defs"]["source"]["properties"]["dedup_scope"]["default"]
    return Source(
        name=s["name"], kind=s["kind"], location=_absolute(s["location"], base_dir),
        licence=s["licence"], attribution=s["attribution"],
        dedup_scope=s.get("dedup_scope", "off" if s["kind"] in _UNDEDUPLICATED_KINDS else scope_default),
        tasks=tuple(s.get("tasks", ())), frame_rate=s.get("frame_rate", Source.frame_rate),
        images=_absolute(s["images"], base_dir) if "images" in s else "",
        allow_absolute=s.get("allow_absolute", Source.allow_absolute),
        classes=s.get("classes", Source.classes),
        labels=tuple(sorted((int(k), v) for k, v in s.get("labels", {}).items())),
        min_visibility=s.get("min_visibility", Source.min_visibility), frame_step=s.get("frame_step", Source.frame_step),
        up=s.get("up", Source.up))


def parse_manifest(data, base_dir: str) -> Manifest:
    """Validate ``data`` (the parsed YAML) and fill in the schema's defaults."""
    if not isinstance(data, dict):
        raise ManifestError("manifest: the top level must be a mapping with a 'sources' list")
    errors = sorted(validator("manifest").iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        raise ManifestError(_describe(errors[0]))
    names = [s["name"] for s in data["sources"]]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ManifestError(f"sources: source name {duplicated[0]!r} is used twice")
    sources = tuple(_source(s, base_dir) for s in data["sources"])
    grouping = _with_defaults("grouping", data.get("grouping", {}))
    if not grouping["min_images"] <= grouping["target_images"] <= grouping["max_images"]:
        raise ManifestError("grouping: need min_images <= target_images <= max_images")
    difficulty = _with_defaults("difficulty", data.get("difficulty", {}))
    if (difficulty["medium_threshold"] or 0) > difficulty["easy_threshold"]:
        raise ManifestError("difficulty: need medium_threshold <= easy_threshold")
    top = load_schema("manifest")["properties"]
    return Manifest(
        name=data.get("name", top["name"]["default"]), seed=data.get("seed", top["seed"]["default"]),
        sources=sources, decode=_with_defaults("decode", data.get("decode", {})),
        dedup=_with_defaults("dedup", data.get("dedup", {})), grouping=grouping,
        drafter=_with_defaults("drafter", data.get("drafter", {})),
        difficulty=difficulty,
        output=_with_defaults("output", data.get("output", {})))


def load_manifest(path: str) -> Manifest:
    """Read and validate a manifest from any FileSystems path."""
    try:
        with FileSystems.open(path) as f:
            data = f.read(MAX_MANIFEST_BYTES + 1)
    except Exception as exc:  # FileSystems raises BeamIOError, IOError, ... by scheme
        raise ManifestError(f"{path}: cannot read manifest ({exc.__class__.__name__})") from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{path}: larger than {MAX_MANIFEST_BYTES:,} bytes, not a manifest")
    try:
        text = data.decode("utf-8-sig")  # a byte order mark, as some editors write, is accepted
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        refused = f": {exc.problem}" if isinstance(exc, _Refused) else ""
        raise ManifestError(f"{path}: not valid YAML{where}{refused}") from None
    except RecursionError:  # a guard: BoundedLoader stops nesting long before the stack ends
        raise ManifestError(f"{path}: not valid YAML: nested too deeply") from None
    return parse_manifest(copy.deepcopy(data), posixpath.dirname(path) or ".")
