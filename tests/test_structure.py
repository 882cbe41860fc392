"""The package's shape: no import cycles, dependencies pointing down, and every function-local
import saying why it is local. The rules run on the real ``pipeline/`` and, to show they can
fail, on small packages written here with the faults planted."""
import ast
import pathlib
import textwrap

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "pipeline"

# Rooms of pipeline/, highest first. A module may import its own room and the rooms below it;
# rooms on one line are peers and may not import each other. "__init__" is pipeline/__init__.py.
LAYERS = (
    ("cli",),
    ("commands",),
    ("run",),
    ("flow", "parallelism"),
    ("stages",),
    ("drafters",),
    ("difficulty",),
    ("readback",),
    ("samples",),
    ("output",),
    ("llm",),
    ("images",),
    ("sources",),
    ("manifest",),
    ("tasks",),
    ("schemas",),
    ("shortcuts",),
    ("records", "storage", "safe_files", "resources", "interleaving", "__init__"),
)


def module_name(root: pathlib.Path, path: pathlib.Path) -> str:
    parts = (root.name,) + path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: pathlib.Path) -> dict:
    """module name -> (path, parsed tree) for every .py file under ``root``."""
    return {module_name(root, p): (p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(root.rglob("*.py"))}


def _package_of(name: str, path: pathlib.Path) -> str:
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def imports(name: str, path: pathlib.Path, tree: ast.AST, known: set) -> list:
    """(imported module, line, local) for every import of a module in ``known``; ``local`` is
    True for an import inside a function."""
    local_nodes = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for n in ast.walk(f)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(name, path).split(".")
                base = base[:len(base) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module
            # "from package import module" depends on that module, "from module import name" on the module.
            targets = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in known else origin for a in node.names]
        else:
            continue
        for target in dict.fromkeys(targets):
            if target in known:
                found.append((target, node.lineno, id(node) in local_nodes))
    return found


def graph(root: pathlib.Path) -> dict:
    mods = modules(root)
    return {name: imports(name, path, tree, set(mods)) for name, (path, tree) in mods.items()}


def cycles(edges: dict) -> list:
    """Every import cycle, as the list of modules along it (depth-first search, each cycle once)."""
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target, _, _ in edges[node]:
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def room(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def upward_imports(edges: dict, layers=LAYERS) -> list:
    """(importer, imported, line) where a module imports a room above its own, or a peer room."""
    rank = {r: i for i, line in enumerate(layers) for r in line}
    return [(name, target, line) for name, found in sorted(edges.items()) for target, line, _ in found
            if room(target) != room(name) and rank[room(target)] <= rank[room(name)]]


def _in_import_block(line: str) -> bool:
    text = line.strip()
    return "#" not in text and (not text or text.startswith(("from ", "import ")))


def unexplained_local_imports(root: pathlib.Path) -> list:
    """(module, line) of each function-local import of the package with no comment saying why:
    on its own line, or on the line above its block of imports."""
    missing, mods = [], modules(root)
    for name, (path, tree) in mods.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for _, line, local in imports(name, path, tree, set(mods)):
            if not local:
                continue
            above = line - 2
            while above >= 0 and _in_import_block(lines[above]):
                above -= 1
            if "#" not in lines[line - 1] and not (above >= 0 and "#" in lines[above]):
                missing.append((name, line))
    return missing


def test_every_module_of_the_package_has_a_room():
    rooms = {r for line in LAYERS for r in line}
    assert {room(name) for name in modules(PACKAGE)} <= rooms


def test_the_package_has_no_import_cycle():
    assert cycles(graph(PACKAGE)) == []


def test_dependencies_point_down():
    assert upward_imports(graph(PACKAGE)) == []


def test_every_function_local_import_says_why():
    assert unexplained_local_imports(PACKAGE) == []


def test_architecture_shows_the_code_s_own_drawing():
    assert room_drawing(graph(PACKAGE)) in (PACKAGE.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")


def test_every_subpackage_says_what_lives_there_and_what_it_may_import():
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert len(doc.split()) >= 25, f"{init.parent.name}/__init__.py needs a paragraph on what lives there"
        assert "import" in doc, f"{init.parent.name}/__init__.py should say what its modules may import"


# --- the rules on packages with planted faults ----------------------------------------------

def _package(tmp_path, files: dict) -> pathlib.Path:
    root = tmp_path / "pkg"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def test_a_cycle_through_a_function_local_import_is_found(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "",
        "stages/__init__.py": "",
        "stages/draft.py": "from ..drafters import openai_drafter\n",
        "drafters/__init__.py": "",
        "drafters/openai_drafter.py": "def read():\n    from ..stages.draft import x  # dodges the cycle\n",
        "drafters/grounded.py": "from . import openai_drafter\n",
    })
    assert cycles(graph(root)) == [["pkg.drafters.openai_drafter", "pkg.stages.draft", "pkg.drafters.openai_drafter"]]


def test_an_upward_and_a_peer_import_are_found(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "",
        "records.py": "from .stages import base\n",
        "stages/__init__.py": "",
        "stages/base.py": "from .. import records\n",
        "llm/__init__.py": "",
        "llm/endpoint.py": "from ..images import decode\n",
        "images/__init__.py": "",
        "images/decode.py": "",
    })
    layers = (("stages",), ("llm", "images"), ("records", "__init__"))
    assert upward_imports(graph(root), layers) == [("pkg.llm.endpoint", "pkg.images.decode", 1),
                                                   ("pkg.records", "pkg.stages.base", 1)]


def test_a_local_import_without_a_reason_is_found(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "",
        "a.py": "",
        "b.py": """\
            def explained():
                # loaded only when asked
                from . import a
                from .a import x
                return a, x


            def also_explained():
                from . import a  # heavy
                return a


            def unexplained():
                from . import a
                return a
            """,
    })
    assert unexplained_local_imports(root) == [("pkg.b", 14)]


@pytest.mark.parametrize("name, expected", [("pipeline.stages.draft", "stages"), ("pipeline.run", "run"),
                                            ("pipeline", "__init__")])
def test_a_module_belongs_to_its_subpackage_or_its_own_room(name, expected):
    assert room(name) == expected


def room_drawing(edges: dict) -> str:
    """Which rooms each room imports, highest room first: the drawing in ARCHITECTURE.md."""
    imported = {}
    for name, found in edges.items():
        for target, _, _ in found:
            if room(target) != room(name):
                imported.setdefault(room(name), set()).add(room(target))
    order = [r for line in LAYERS for r in line]
    width = max(map(len, order))
    return "\n".join(f"{r:<{width}} -> {', '.join(t for t in order if t in imported.get(r, ())) or '(nothing)'}"
                     for r in order)


if __name__ == "__main__":  # python tests/test_structure.py prints the drawing
    print(room_drawing(graph(PACKAGE)))
