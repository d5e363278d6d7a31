"""The layers of the package, declared once and enforced on every module (imports inside functions
included), as the engine's no-Django test does for the engine. See docs/architecture.md, "Layers".

A module may import from its own app, from any lower layer, and from an app of its own layer only
through that app's declared interface (``PEER_INTERFACES``: its ``policy`` module, the rules other
apps ask). Never from a higher layer. The engine imports no Django and nothing of Maillage but
itself. An import inside a function of a Maillage module says why on its line or the line above
(``# cycle: …``): other such imports belong at the top of the module.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "maillage"

# Lowest first. Each entry is a layer: the apps (or top-level modules) it holds.
LAYERS: list[tuple[str, ...]] = [
    ("engine",),
    (
        "uploads",
        "spreadsheets",
        "runs",
        "caching",
        "viewhelpers",
    ),  # helpers that know no app (runs: BackgroundRun; viewhelpers: what views share)
    ("reference",),
    ("accounts",),
    ("exports",),  # the export registry: each app registers its datasets (its exports.py)
    # the notification rows, page and digest; each app above declares its own kinds
    ("notifications",),
    ("directory",),
    ("flows",),
    ("synergies", "marketplace", "events", "networks"),  # domain apps, peers
    # read across the domain apps: map and dashboard, imports and the demo, personal data
    ("atlas", "ingest", "privacy"),
    ("web", "api", "operations"),
    ("config",),  # settings and the root URLs
]
# Declared exceptions, each with its reason; nothing else crosses the layers.
EXCEPTIONS: dict[tuple[str, str], str] = {}
# What an app of the same layer may import from another: its rules, never its models.
PEER_INTERFACES = ("policy",)

RANK = {app: rank for rank, apps in enumerate(LAYERS) for app in apps}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. "maillage.events.selectors"
    target: str  # the imported module, e.g. "maillage.synergies.policy"
    line: int
    in_function: bool
    reason: bool  # a "# cycle:" comment on the line or the line above


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[Import]:
    text = path.read_text()
    lines = text.splitlines()
    tree = ast.parse(text)
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            targets: list[str] = []
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    stem = ".".join(base + ([child.module] if child.module else []))
                else:
                    stem = child.module or ""
                # "from maillage.x import y" may import the module maillage.x.y.
                targets = [f"{stem}.{alias.name}" for alias in child.names]
            for target in targets:
                around = " ".join(lines[max(child.lineno - 2, 0) : child.lineno])
                found.append(
                    Import(module, target, child.lineno, in_function, "# cycle:" in around)
                )
            visit(child, inner)

    visit(tree, False)
    return found


def _app(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "maillage" or len(parts) < 2:
        return None
    return parts[1]


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)
ALL_IMPORTS = [i for path in MODULES for i in _imports(path)]


def test_every_app_has_a_layer():
    apps = {_app(_module_name(p)) for p in MODULES} - {None}
    assert apps <= set(RANK), f"apps without a layer: {sorted(apps - set(RANK))}"


def _excepted(i: Import) -> bool:
    return any(i.module == m and i.target.startswith(t + ".") for m, t in EXCEPTIONS)


def _violation(i: Import) -> str | None:
    source, target = _app(i.module), _app(i.target)
    if source is None or target is None or source == target:
        return None
    if _excepted(i):
        return None
    where = f"{i.module}:{i.line} imports {i.target}"
    if RANK[target] > RANK[source]:
        return f"{where} (a higher layer)"
    if RANK[target] == RANK[source]:
        interface = i.target.split(".")[2] if i.target.count(".") >= 2 else ""
        if interface not in PEER_INTERFACES:
            return f"{where} (a peer app, outside its interface {PEER_INTERFACES})"
    return None


def test_imports_follow_the_layers():
    violations = [v for i in ALL_IMPORTS if (v := _violation(i))]
    assert violations == []


def test_no_import_circle_between_apps():
    edges: dict[str, set[str]] = {}
    for i in ALL_IMPORTS:
        source, target = _app(i.module), _app(i.target)
        # The declared exceptions are left out: they are the known edges still to remove.
        if source and target and source != target and not _excepted(i):
            edges.setdefault(source, set()).add(target)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in edges.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    assert [app for app in edges if reaches(app, app, set())] == []


@pytest.mark.parametrize(
    "path", [p for p in MODULES if _app(_module_name(p)) == "engine"], ids=lambda p: p.name
)
def test_engine_module_imports_only_the_engine_and_no_django(path):
    bad = [
        i.target
        for i in _imports(path)
        if i.target.split(".")[0] == "django"
        or (i.target.startswith("maillage") and _app(i.target) != "engine")
    ]
    assert bad == []


def test_imports_inside_functions_say_which_cycle_they_break():
    unexplained = [
        f"{i.module}:{i.line} {i.target}"
        for i in ALL_IMPORTS
        if i.in_function and i.target.startswith("maillage.") and not i.reason
    ]
    assert unexplained == []


def test_the_layer_check_catches_a_wrong_import():
    # The checks above must be able to fail: an upward import, a peer's model, a peer's rules.
    assert _violation(
        Import("maillage.directory.models", "maillage.marketplace.services", 1, True, False)
    )
    assert _violation(
        Import("maillage.events.selectors", "maillage.synergies.models", 1, False, False)
    )
    assert (
        _violation(
            Import("maillage.synergies.selectors", "maillage.synergies.models", 1, False, False)
        )
        is None
    )
    assert (
        _violation(
            Import("maillage.events.selectors", "maillage.synergies.policy", 1, False, False)
        )
        is None
    )
    assert _violation(Import("maillage.notifications", "maillage.events.models", 1, False, False))
    assert _violation(
        Import("maillage.notifications.services", "maillage.marketplace.models", 1, False, False)
    )
    assert (
        _violation(Import("maillage.directory.models", "maillage.notifications", 1, False, False))
        is None
    )
