"""Imports belong at the top of a module. One inside a function is kept only where it breaks a
real import cycle or defers a heavy or optional dependency, and says which on its line or the line
above: ``# cycle: …`` (what imports what) or ``# lazy: …`` (why it waits). Imports under
``if TYPE_CHECKING:`` are for the type checker and do not count. See docs/architecture.md.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "maillage"
REASON = re.compile(r"#\s*(cycle|lazy):\s*\S")

# Files another change is rewriting at the same time (issue 14); their imports are audited once
# it lands. Only ever shrinks.
PENDING: set[str] = set()


@dataclass(frozen=True)
class LocalImport:
    path: str  # relative to src/maillage
    line: int
    statement: str
    reason: bool


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def local_imports(path: str, text: str) -> list[LocalImport]:
    """Every import statement inside a function (or a method) of ``text``, outside
    ``if TYPE_CHECKING:`` blocks, with whether a reason comment stands on its line or above."""
    lines = text.splitlines()
    found: list[LocalImport] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other, in_function)
                continue
            if in_function and isinstance(child, ast.Import | ast.ImportFrom):
                around = lines[max(child.lineno - 2, 0) : child.lineno]
                found.append(
                    LocalImport(
                        path,
                        child.lineno,
                        lines[child.lineno - 1].strip(),
                        any(REASON.search(line) for line in around),
                    )
                )
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, inner)

    visit(ast.parse(text), False)
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def test_every_import_inside_a_function_says_why():
    unexplained = [
        f"{i.path}:{i.line} {i.statement}"
        for path in _modules()
        if (relative := path.relative_to(PACKAGE).as_posix()) not in PENDING
        for i in local_imports(relative, path.read_text())
        if not i.reason
    ]
    assert unexplained == []


def test_pending_files_exist():
    # A file that was split or renamed leaves the list, so that the list only shrinks.
    assert sorted(p for p in PENDING if not (PACKAGE / p).exists()) == []


def test_the_check_finds_an_unexplained_import():
    text = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from x import Y\n"
        "import os\n"
        "def f():\n"
        "    import json\n"
        "    # cycle: b imports this module\n"
        "    from b import c\n"
        "    from d import e  # lazy: d loads a model file\n"
        "    class Inner:\n"
        "        def g(self):\n"
        "            import csv\n"
        "    if TYPE_CHECKING:\n"
        "        import z\n"
        "    return json, c, e, Inner\n"
    )
    found = local_imports("m.py", text)
    assert [(i.line, i.reason) for i in found] == [(6, False), (8, True), (9, True), (12, False)]
