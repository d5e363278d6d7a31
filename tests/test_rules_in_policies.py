"""Who may do what is decided in the policies (each app's ``policy.py``, see docs/architecture.md),
never by a role check written in a view, a selector or an API router: those ask the policy, so
that the permission matrix and the role tables test every rule the pages apply.

The check reads the code (AST): an attribute ``.role`` compared (``==``, ``!=``, ``in``,
``not in``) or ``.is_superuser`` read, in the modules that present.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "maillage"


def _presents(path: Path) -> bool:
    parts = path.relative_to(PACKAGE).parts
    return (
        path.name in ("views.py", "selectors.py")
        or "views" in parts[:-1]
        or (len(parts) > 2 and parts[:2] == ("api", "routers"))
    )


def role_checks(source: str) -> list[int]:
    """Lines of ``source`` that decide on a user's role or superuser flag by hand."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "is_superuser":
            found.append(node.lineno)
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(s, ast.Attribute) and s.attr == "role" for s in sides):
                found.append(node.lineno)
    return sorted(set(found))


def test_views_selectors_and_routers_ask_the_policy():
    found = [
        f"{path.relative_to(PACKAGE)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if _presents(path)
        for line in role_checks(path.read_text())
    ]
    assert found == []


def test_the_check_catches_a_role_check():
    assert role_checks("if request.user.role == User.Role.ADVISOR:\n    pass\n") == [1]
    assert role_checks("ok = user.role in ROLES\n") == [1]
    assert role_checks("x = 1\nif request.user.is_superuser:\n    pass\n") == [2]
    assert role_checks("if policy.can_edit(user, obj):\n    pass\n") == []
    assert _presents(PACKAGE / "web" / "views" / "home.py")
    assert _presents(PACKAGE / "api" / "routers" / "flows.py")
    assert not _presents(PACKAGE / "directory" / "policy.py")
