"""Which package may import which: the layers of src/hakaru, read from the source with ``ast``.

Every import counts — at module level, inside functions (lazy ones) and under
``TYPE_CHECKING`` — because each is a dependency of the design, whenever it is paid. The
layers, lowest first (docs/ARCHITECTURE.md draws them):

1. the core: types, the session and what it owns, backends, executors, the run store;
2. building blocks on the core: LbA patterns and the pure numbers of ``analysis``;
3. capabilities: workloads, MAKER (``mdap``), quality gates, reasoning budgets, HBPO, the proxy,
   in-process capture;
4. orchestration: ``runner`` (one workload run), ``sweeps`` (grids of them) and ``testing``
   (assertions and cassettes for test suites);
5. presentation: ``report`` and ``demo``;
6. the command line.

A package imports only from its own layer or below; the one exception is the facade
``hakaru/__init__.py`` re-exporting ``hakaru.capture`` (layer 3), listed in ``FACADE``. On top
of that, ``analysis`` is numbers only (no runner, workloads, executors or sweeps) and
``executors`` only run calls (no analysis, workloads or sweeps).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "hakaru"

CORE = (
    "hakaru errors types pricing tokenizer costs ledger dag budget limits cache happens_before "
    "records admission tasks store backends executors session sync dependencies otel"
)
LAYERS: dict[str, int] = {
    **dict.fromkeys(CORE.split(), 1),
    **dict.fromkeys(("patterns", "analysis"), 2),
    **dict.fromkeys(
        ("workloads", "mdap", "gates", "reasoning", "hbpo", "neural", "proxy", "capture"), 3
    ),
    **dict.fromkeys(("runner", "sweeps", "testing"), 4),
    **dict.fromkeys(("report", "demo"), 5),
    "cli": 6,
}
#: The facade's imports from above the core: ``hakaru.capture`` (the function) is public API.
FACADE = {("hakaru", "hakaru.capture.api")}
FORBIDDEN = {
    "analysis": {"runner", "workloads", "executors", "sweeps"},
    "executors": {"analysis", "workloads", "sweeps"},
}


def part(module: str) -> str:
    """The top-level package or module of ``hakaru.x.y`` (``hakaru`` for the root)."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "hakaru"


def imports() -> Iterator[tuple[str, str, int]]:
    """(importing module, imported hakaru module, line) for every import in src/hakaru."""
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolve against this module's package
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*up, base] if base else up)
                targets = [base]
            else:
                continue
            for target in targets:
                if target == "hakaru" or target.startswith("hakaru."):
                    yield module, target, node.lineno


EDGES = list(imports())


def test_every_package_has_a_layer() -> None:
    parts = {part(m) for m, _, _ in EDGES} | {part(t) for _, t, _ in EDGES}
    assert parts - set(LAYERS) == set()
    assert len(EDGES) > 500  # the walk found the imports (a check that can fail)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_forbidden_imports(package: str) -> None:
    wrong = [
        f"{m}:{line} imports {t}"
        for m, t, line in EDGES
        if part(m) == package and part(t) in FORBIDDEN[package]
    ]
    assert wrong == []


def test_imports_run_down_the_layers() -> None:
    upward = [
        f"{m}:{line} (layer {LAYERS[part(m)]}) imports {t} (layer {LAYERS[part(t)]})"
        for m, t, line in EDGES
        if LAYERS[part(t)] > LAYERS[part(m)] and (m, t) not in FACADE
    ]
    assert upward == []
