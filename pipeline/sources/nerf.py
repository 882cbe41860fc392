"""The ``views`` source: multi-view scenes in the NeRF ``transforms.json`` layout (Blender's
synthetic scenes, instant-ngp, nerfstudio and most capture tools export it).

A scene is a folder holding ``transforms.json`` (or ``transforms_train.json``, ``_val``, ``_test``:
every ``transforms*.json`` of the folder belongs to one scene). Each ``frames[]`` entry names an
image by ``file_path`` (relative to the JSON's folder; without an extension it is a PNG, as in
Blender's scenes) and gives ``transform_matrix``, the camera-to-world pose (OpenGL convention:
the camera looks along its -Z axis, +Y up in the picture). The source's location is one
transforms JSON, one scene folder, or a folder of scene folders.

What view_3d reads is the camera's place around the scene, measured from the scene's centre:
the point nearest to every camera's viewing axis (least squares), which is what the cameras look
at; for an orbit around an object, the object. With the world's up axis ``up`` (a source
setting; by default ``auto``: the axis every camera's horizontal x axis is perpendicular to,
signed by the cameras' own up axes, which is +z in Blender's and instant-ngp's worlds),

    azimuth   = atan2(d . e2, d . e1), in degrees, 0..360, counter-clockwise seen from above
    elevation = asin(d . up / |d|), in degrees, positive above the centre's horizontal plane

where d is the camera's position minus the centre and (e1, e2, up) is a right-handed frame:
for ``+z``, e1 = +x and e2 = +y, so a camera on the +x axis is at azimuth 0 and one on +y at 90
(for ``+y``: e1 = +z, e2 = +x).

A frame whose camera rolls (turns about its viewing axis) more than ROLL_LIMIT degrees is rejected
as ``rolled_camera``: "the camera circles clockwise" reads otherwise in a tilted picture. A scene whose
cameras cover less than half a circle of azimuth gets one ``narrow_scene`` record, which ``mir
build`` prints as a warning (the build goes on): few of its views are far enough apart for view_3d's
questions.
"""
import math
import posixpath

import numpy as np
from apache_beam.io.filesystems import FileSystems

from ..storage import read_bytes
from .files import find_files
from .metadata import parse_json, repeated_keys, value_problem
from .paths import Root, SourceUnusable, check_file
from .sidecar import Listing, check_metadata_size

STAGE = "read_sources"
SINGULAR = 1e-6            # |det| of a pose's rotation below this: the pose is singular
PARALLEL = 1e-6            # smallest eigenvalue share below this: the viewing axes do not meet
DEFAULT_EXTENSION = ".png"  # Blender's scenes name frames without their extension
# Hand-held captures roll a few degrees; beyond this the picture is visibly tilted.
ROLL_LIMIT = 20
# A camera looking within 3 degrees of straight along the up axis: its picture has no upright to roll from.
NO_UPRIGHT = math.sin(math.radians(3))
HALF_CIRCLE = 180


def is_transforms(uri: str) -> bool:
    name = posixpath.basename(uri)
    return name.startswith("transforms") and name.endswith(".json")


def up_frame(up: str) -> tuple:
    """(e1, e2, up) as unit vectors, right-handed: e1 the next axis after up's, e2 = up x e1."""
    axis = "xyz".index(up[1])
    vertical = np.zeros(3)
    vertical[axis] = 1.0 if up[0] == "+" else -1.0
    first = np.zeros(3)
    first[(axis + 1) % 3] = 1.0
    return first, np.cross(vertical, first), vertical


def detect_up(poses: list) -> str:
    """The world axis (of +-x, +-y, +-z) the cameras' x axes lean least along: a camera that does
    not roll keeps its x axis level. Its sign is the side the cameras' up (y) axes point to; ties
    go to z, then y (Blender's world first)."""
    rights = np.array([c2w[:3, 0] / np.linalg.norm(c2w[:3, 0]) for c2w in poses])
    lean = (rights ** 2).sum(axis=0)
    axis = next(a for a in (2, 1, 0) if lean[a] <= lean.min() + 1e-6 * len(poses))
    return ("+" if sum(c2w[axis, 1] for c2w in poses) >= 0 else "-") + "xyz"[axis]


def pose(matrix):
    """(4x4 camera-to-world array, None) or (None, why the pose cannot be used)."""
    rows = matrix if isinstance(matrix, list) else None
    if not rows or len(rows) not in (3, 4) or not all(isinstance(r, list) and len(r) == 4 for r in rows):
        return None, "transform_matrix is not a 3x4 or 4x4 matrix"
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for r in rows for v in r):
        return None, "transform_matrix holds a value that is not a number"
    array = np.array(rows, dtype=np.float64)
    if not np.isfinite(array).all():
        return None, "transform_matrix holds NaN or an infinity"
    if abs(np.linalg.det(array[:3, :3])) < SINGULAR:
        return None, "transform_matrix is singular (its rotation has no volume)"
    return np.vstack([array[:3], [0.0, 0.0, 0.0, 1.0]]), None


def viewing_axis(c2w) -> np.ndarray:
    """The camera's viewing direction in the world: its -Z axis."""
    axis = -c2w[:3, 2]
    return axis / np.linalg.norm(axis)


def scene_centre(poses: list):
    """The point nearest to every camera's viewing axis (least squares), or None when the axes
    are (nearly) parallel and meet nowhere."""
    system, target = np.zeros((3, 3)), np.zeros(3)
    for c2w in poses:
        away = np.eye(3) - np.outer(viewing_axis(c2w), viewing_axis(c2w))   # distance off the axis
        system += away
        target += away @ c2w[:3, 3]
    eigenvalues = np.linalg.eigvalsh(system)
    if len(poses) < 2 or eigenvalues[0] < PARALLEL * eigenvalues[-1]:
        return None
    return np.linalg.solve(system, target)


def camera_angles(position, centre, up: str):
    """(azimuth, elevation) in degrees of a camera at ``position`` around ``centre``; None when
    the camera sits at the centre."""
    first, second, vertical = up_frame(up)
    offset = np.asarray(position, dtype=np.float64) - centre
    distance = float(np.linalg.norm(offset))
    if distance < 1e-9:
        return None
    azimuth = round(math.degrees(math.atan2(offset @ second, offset @ first)) % 360, 6) % 360
    elevation = round(math.degrees(math.asin(max(-1.0, min(1.0, (offset @ vertical) / distance)))), 6)
    return azimuth + 0.0, elevation + 0.0   # + 0.0: no -0.0 in the metadata


def camera_roll(c2w, up: str) -> float:
    """Degrees the camera turns about its viewing axis from upright: the angle, in the picture, of the
    world's up from the picture's up (0 upright, 180 upside down); 0 for a camera looking (nearly)
    straight along the up axis."""
    vertical = up_frame(up)[2]
    across = c2w[:3, 0] @ vertical / np.linalg.norm(c2w[:3, 0])    # the world's up along the picture's x
    upward = c2w[:3, 1] @ vertical / np.linalg.norm(c2w[:3, 1])    # and along its y
    return 0.0 if math.hypot(across, upward) < NO_UPRIGHT else math.degrees(math.atan2(across, upward))


def azimuth_coverage(azimuths: list) -> float:
    """Degrees of the circle (at least one) azimuths span: 360 less the widest gap between neighbours."""
    ordered = sorted(a % 360 for a in azimuths)
    return 360 - max([b - a for a, b in zip(ordered, ordered[1:])] + [ordered[0] + 360 - ordered[-1]])


class Scene:
    """The frames of one scene folder's transforms JSONs, settled into a Listing."""

    def __init__(self, source, listing: Listing, folder: str, group: str):
        self.source, self.listing, self.folder, self.group = source, listing, folder, group
        self.root = Root(folder)
        self.frames = []   # (uri, record, where, c2w)

    def read(self, json_uri: str):
        """Add the frames of one transforms JSON; yields rejects of what names no image."""
        name = posixpath.basename(json_uri)
        check_metadata_size(json_uri)
        data, problem = parse_json(read_bytes(json_uri).decode("utf-8", "surrogateescape"))
        if not problem and not (isinstance(data, dict) and isinstance(data.get("frames"), list)):
            problem = "not an object with a frames list"
        if not problem and repeated_keys(data):
            problem = f"key {repeated_keys(data)[0]!r} appears more than once"
        problem = problem or value_problem({k: v for k, v in data.items() if k != "frames"})
        if problem:
            yield self.listing.reject_record("bad_metadata", f"{name}: {problem}", json_uri)
            return
        for number, frame in enumerate(data["frames"]):
            where = f"{name} frame {number}"
            path = frame.get("file_path") if isinstance(frame, dict) else None
            if not isinstance(path, str) or not path:
                yield self.listing.reject_record("bad_metadata", f"{where}: no file_path", f"{json_uri}:frame {number}")
            else:
                self._add(frame, path, data.get("camera_angle_x"), where)

    def _image_name(self, path: str) -> str:
        """``path``, or with Blender's .png when it names no file and has no extension of its own."""
        if posixpath.splitext(path)[1] or FileSystems.exists(FileSystems.join(self.folder, path)):
            return path
        return path + DEFAULT_EXTENSION

    def _add(self, frame: dict, path: str, angle_x, where: str):
        name = self._image_name(path)
        uri, refusal = self.root.resolve(name)
        if refusal:
            self.listing.refuse(uri, refusal[0], f"{where}: {refusal[1]}")
            return
        record = {"file": posixpath.normpath(name), "group": self.group}
        angle_x = frame.get("camera_angle_x", angle_x)
        problem = (f"key {repeated_keys(frame)[0]!r} appears more than once" if repeated_keys(frame) else
                   value_problem({k: v for k, v in frame.items() if k != "transform_matrix"}))  # NaN poses: bad_pose
        if angle_x is not None and not problem:
            if not (isinstance(angle_x, (int, float)) and 0 < angle_x < math.pi):
                problem = f"camera_angle_x {angle_x!r} is not an angle in radians between 0 and pi"
            else:
                record["attributes"] = {"fov_x_deg": round(math.degrees(angle_x), 6)}
        if problem or not FileSystems.exists(uri):
            self.listing.describe(uri, record, where, problem, exists=False)
            return
        c2w, bad_pose = pose(frame.get("transform_matrix"))
        if bad_pose:
            self.listing.reject(uri, "bad_pose", f"{where}: {bad_pose}")
        else:
            self.frames.append((uri, record, where, c2w))

    def settle(self):
        """Describe every frame with its camera's angles around the scene's centre; yields the
        warning of a scene whose cameras cover less than half a circle."""
        poses = [c2w for _, _, _, c2w in self.frames]
        centre = scene_centre(poses)
        up = detect_up(poses) if self.source.up == "auto" and poses else self.source.up
        azimuths = []
        for uri, record, where, c2w in self.frames:
            angles = camera_angles(c2w[:3, 3], centre, up) if centre is not None else None
            roll = camera_roll(c2w, up)
            if centre is None:
                self.listing.reject(uri, "bad_pose", f"{where}: the scene has one usable camera, or viewing axes that "
                                                     "are (nearly) parallel: no centre for the cameras to circle")
            elif angles is None:
                self.listing.reject(uri, "bad_pose", f"{where}: the camera sits at the scene's centre")
            elif abs(roll) > ROLL_LIMIT:
                self.listing.reject(uri, "rolled_camera", f"{where}: the camera rolls {abs(roll):.0f} degrees (more "
                                                          f"than {ROLL_LIMIT}): turns read otherwise in a tilted picture")
            else:
                azimuths.append(angles[0])
                self.listing.describe(uri, dict(record, camera={"azimuth_deg": angles[0], "elevation_deg": angles[1]}),
                                      where)
        coverage = azimuth_coverage(azimuths) if azimuths else None
        if coverage is not None and coverage < HALF_CIRCLE:
            # A warning (output/report.py WARNING_REASONS), worded as ListSource words a source's
            # record, which names the source first.
            yield self.listing.reject_record(
                "narrow_scene", f"source {self.source.name!r}: scene {self.group!r}: its cameras cover "
                              f"{round(coverage, 1):g} degrees of azimuth, less than half a circle; few of its views "
                              "are far enough apart for view questions", self.folder)


def _scenes(source):
    """{scene folder: [transforms JSON uris]} of the source's location."""
    location = source.location.rstrip("/")
    if location.lower().endswith(".json"):
        check_file(location)
        return {posixpath.dirname(location): [location]}
    found = find_files(location)
    scenes = {}
    for uri in sorted(found.files):
        if is_transforms(uri):
            scenes.setdefault(posixpath.dirname(uri), []).append(uri)
    if not scenes:
        raise SourceUnusable("unreadable_source", f"{location}: no transforms*.json below it (not a NeRF-style scene)")
    return scenes


def _group(source, folder: str) -> str:
    relative = posixpath.relpath(folder, source.location.rstrip("/"))
    return posixpath.basename(folder) if relative == "." or relative.startswith("..") else relative


def list_views(source):
    """One ImageRef per frame of every scene, with ``group`` (the scene) and ``camera``."""
    listing = Listing(source, STAGE)
    for folder, jsons in sorted(_scenes(source).items()):
        scene = Scene(source, listing, folder, _group(source, folder))
        for json_uri in jsons:
            yield from scene.read(json_uri)
        yield from scene.settle()
    yield from listing.settle()
