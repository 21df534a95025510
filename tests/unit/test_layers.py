"""The package's shape holds: imports point one way, and no two modules import each other in a circle.

    app -> teach -> view | lab -> curriculum (netns, links, ...) -> foundations (errors, model, ...)

Every import counts, also one inside a function (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

NETLAB = Path(__file__).resolve().parents[2] / "netlab"
FOUNDATIONS = {"errors", "names", "targets", "model", "plumbing"}
ENTRY_POINTS = {"netlab", "netlab.__main__", "netlab.live"}  # the front door and the %load_ext shim


def _modules() -> dict[str, Path]:
    found = {}
    for path in NETLAB.rglob("*.py"):
        name = ".".join(path.relative_to(NETLAB.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path) -> list[tuple[str, int]]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "netlab":
            names += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
        elif isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names if alias.name.split(".")[0] == "netlab"]
    return names


def _resolve(name: str, modules: dict[str, Path]) -> str:
    while name not in modules:
        name = name.rpartition(".")[0]
    return name


def _layer(module: str) -> tuple[int, str]:
    if module == "netlab":
        return 5, "front door"  # `from netlab import ...` inside the package: an upward import
    part = module.split(".")[1]
    if part == "app":
        return 4, part
    if part == "teach":
        return 3, part
    if part in ("view", "lab"):
        return 2, part
    return (0 if part in FOUNDATIONS else 1), "curriculum"


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for imported, _ in _imports(path):
            target = _resolve(imported, modules)
            if target != name and not name.startswith(target + "."):
                graph[name].add(target)
    return graph


def test_imports_point_one_way():
    upward = []
    for name, targets in _graph().items():
        if name in ENTRY_POINTS:
            continue
        mine, package = _layer(name)
        for target in targets:
            theirs, their_package = _layer(target)
            if theirs > mine or (theirs == mine == 2 and their_package != package):
                upward.append(f"{name} imports {target}")
    assert upward == []


def test_no_circles():
    graph, seen, circles = _graph(), set(), []

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            circles.append(path[path.index(name) :] + [name])
            return
        if name in seen:
            return
        for target in sorted(graph[name]):
            visit(target, [*path, name])
        seen.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert circles == []


def test_no_module_is_a_monolith():
    long = {
        str(path.relative_to(NETLAB.parent)): n
        for path in NETLAB.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 600
    }
    assert long == {}


def test_the_top_of_the_package_is_the_lesson():
    """``ls netlab/`` shows the lesson's modules and a handful of folders, not the plumbing: 24 at most."""
    entries = sorted(
        path.name
        for path in NETLAB.iterdir()
        if path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").exists())
    )
    assert len(entries) <= 24, entries
    plumbing = {"syscalls", "threads", "netlink_socket", "frames", "addresses", "commands", "i18n", "packetsocket"}
    assert not plumbing & {name.removesuffix(".py") for name in entries}


# Modules still tested only from files named by theme (test_lived_in, test_cleanup, test_checks, ...).
# One leaves this list when a test file named after it exists; a new module comes with its own.
STILL_WITHOUT_A_TEST_FILE = frozenset(
    {
        "netlab/app/capture_cmd.py",
        "netlab/app/doctor.py",
        "netlab/app/labserver.py",
        "netlab/capture/ring.py",
        "netlab/lab/machine.py",
        "netlab/lab/removal.py",
        "netlab/netlink.py",
        "netlab/teach/challenges/base.py",
        "netlab/teach/challenges/bridge_without_internet.py",
        "netlab/teach/challenges/ghost_namespace.py",
        "netlab/teach/challenges/internet_by_nat.py",
        "netlab/teach/challenges/published_port.py",
        "netlab/teach/challenges/two_subnets.py",
        "netlab/teach/leftovers.py",
        "netlab/teach/reproduce/experiments_internet.py",
        "netlab/teach/reproduce/experiments_netns.py",
        "netlab/teach/reproduce/experiments_pinning.py",
        "netlab/teach/reproduce/experiments_veth.py",
        "netlab/teach/reproduce/runner.py",
        "netlab/teach/reproduce/scene.py",
        "netlab/teach/shells.py",
        "netlab/view/draw/front.py",
    }
)


def test_every_module_has_a_test_file_named_after_it():
    """netlab/SUB/NAME.py: tests/unit/SUB/test_NAME.py (pure code) or tests/test_NAME.py (the kernel tier)."""
    tests = NETLAB.parent / "tests"

    def has_tests(module: Path) -> bool:
        mirror = tests / "unit" / module.relative_to(NETLAB).parent / f"test_{module.stem}.py"
        return mirror.is_file() or (tests / f"test_{module.stem}.py").is_file()

    without = {
        str(path.relative_to(NETLAB.parent))
        for path in NETLAB.rglob("*.py")
        if path.stem not in ("__init__", "__main__") and not has_tests(path)
    }
    assert without == STILL_WITHOUT_A_TEST_FILE
