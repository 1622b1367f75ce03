"""The layout keeps its promises (spec/architecture.md): imports only go down the layers, modules
import no cycle, no private name crosses a module, and the project's own modules are imported at
the top of a file (a function-level import must say which cycle it breaks, or which start-up it
shortens)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "bot"

# From the bottom: a module may import its own layer and the layers below.
LAYERS = [
    ("bot.errors", "bot.validation", "bot.tomlpos", "bot.uscc", "bot.defaults", "bot.logs",
     "bot.version", "bot.config", "bot.calendar", "bot.verdict", "bot.store", "bot.tls", "bot.retry",
     "bot.casetag", "bot.samples", "bot.startup"),
    ("bot.message", "bot.mailbox", "bot.forms", "bot.rules", "bot.outbox", "bot.documents",
     "bot.cases", "bot.context"),
    ("bot.intake", "bot.followup"),
    ("bot.service",),
    ("bot.commands",),
    ("bot.cli", "bot.__main__"),
]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    names: tuple[str, ...]
    line: int
    top_level: bool
    comment: str


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int | None:
    for level, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return level
    return None


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """ids of import nodes under `if TYPE_CHECKING:` (types only: no runtime dependency)."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for n in ast.walk(node)}
    return skipped


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _is_module(dotted: str) -> bool:
    path = Path(ROOT.parent, *dotted.split("."))
    return path.is_dir() or path.with_suffix(".py").is_file()


def edges() -> list[Edge]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        module = module_name(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        skipped = _type_checking_nodes(tree)
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if id(node) in skipped or not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(node, ast.ImportFrom):
                base = _resolve(module, path, node)
                # `from bot.followup import views` imports the module bot.followup.views
                targets = [(f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base, a.name)
                           for a in node.names]
            else:
                targets = [(a.name, "") for a in node.names]
            for target, name in targets:
                if target == "bot" or target.startswith("bot."):
                    found.append(Edge(module, target, (name,) if name else (), node.lineno,
                                      id(node) in top, lines[node.lineno - 1]))
    return found


def test_every_module_has_a_layer():
    unplaced = sorted({e.source for e in edges() if layer_of(e.source) is None}
                      | {e.target for e in edges() if layer_of(e.target) is None})
    assert unplaced == []


def test_imports_only_go_down_the_layers():
    upward = [f"{e.source}:{e.line} imports {e.target}" for e in edges()
              if (layer_of(e.target) or 0) > (layer_of(e.source) or 0)]
    assert upward == []


def test_no_private_name_crosses_a_module():
    private = [f"{e.source}:{e.line} imports {e.target}.{n}" for e in edges() for n in e.names
               if n.startswith("_") and e.target != e.source]
    assert private == []


def test_own_modules_are_imported_at_the_top_unless_a_cycle_or_the_start_up_is_named():
    inner = [f"{e.source}:{e.line}: {e.comment.strip()}" for e in edges()
             if not e.top_level and "cycle" not in e.comment and "start-up:" not in e.comment]
    assert inner == []


def test_modules_import_no_cycle():
    graph: dict[str, set[str]] = {}
    for e in edges():
        if e.top_level and e.target != e.source:
            graph.setdefault(e.source, set()).add(e.target)
    cycles = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


@pytest.mark.parametrize("stage", ["mailbox", "message", "forms", "rules", "cases", "outbox",
                                   "intake", "followup", "service", "commands"])
def test_the_flow_is_visible_in_the_tree(stage):
    assert (ROOT / stage).is_dir() or (ROOT / f"{stage}.py").is_file()
