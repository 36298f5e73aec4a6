"""Layers import leftwards only (design.md section 2); front ends are imported by nothing."""

from __future__ import annotations

import ast
from pathlib import Path

import exhunt

PACKAGE = Path(exhunt.__file__).parent
FOUNDATION = {
    "model", "exceptions", "registry", "timeutil", "document", "options", "cachedir", "__init__"
}  # fmt: skip
ORDER = ["foundation", "evidence", "artifacts", "detect", "findings", "scan"]
FRONT_ENDS = {"cli", "testing", "web", "fleet"}
LAYER_OF = {"probe": "detect"}
"""Packages that belong to a layer without living in its folder."""


def layer_of(module: str) -> str:
    head = module.split(".")[1] if module.count(".") else "__init__"
    if head == "__main__":
        return "cli"
    if head in FOUNDATION:
        return "foundation"
    return LAYER_OF.get(head, head)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("exhunt"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("exhunt"))
    return found


def modules() -> list[tuple[str, Path]]:
    result = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        result.append((".".join(rel.parts), path))
    return result


def allowed(source: str, target: str) -> bool:
    src, dst = layer_of(source), layer_of(target)
    if src == dst or dst == "foundation":
        return True
    if dst in FRONT_ENDS:
        # Nothing imports a front end, except the CLI running the shipped rule examples.
        return src == "cli" and dst in ("testing", "fleet")
    if src == "report":
        return dst == "report"
    if src in FRONT_ENDS:
        return True
    if src in ORDER and dst in ORDER:
        return ORDER.index(dst) <= ORDER.index(src)
    return False


def test_layers_import_leftwards_only() -> None:
    violations = [
        f"{name} imports {target}"
        for name, path in modules()
        for target in imports_of(path)
        if not allowed(name, target)
    ]
    assert violations == []
