"""The front door (netlab/__init__.py): one import line serves a notebook, and costs next to nothing."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import netlab

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, from PyPI (the test extra installs it)
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("matplotlib", "pyroute2", "networkx", "ipywidgets", "IPython", "tqdm", "scapy", "jupyter_client")


def _fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (nothing imported yet) and return what it printed."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("statement", ["import netlab", "from netlab import netns, run, label, NEW, NetlabError"])
def test_the_lesson_s_first_import_pulls_in_nothing_heavy(statement):
    code = f"import sys\n{statement}\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    assert _fresh(code).strip() == "[]"


def test_the_netlab_command_starts_without_the_heavy_libraries():
    code = f"import sys, netlab.app.cli\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    assert _fresh(code).strip() == "[]"


def test_every_name_in_all_resolves_in_a_fresh_interpreter():
    code = "import json, netlab\nprint(json.dumps({n: type(getattr(netlab, n)).__name__ for n in netlab.__all__}))"
    kinds = json.loads(_fresh(code))
    assert set(kinds) == set(netlab.__all__)
    assert kinds["netns"] == "module" and kinds["NEW"] == "_NewNamespace" and kinds["Lab"] == "type"


def test_all_is_sorted_and_each_name_has_a_home():
    assert netlab.__all__ == sorted(netlab.__all__)
    assert set(netlab.__all__) == set(netlab._EXPORTS) | set(netlab._MODULES)
    assert set(netlab.__all__) <= set(dir(netlab))


def test_a_name_that_is_not_there_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        netlab.nope  # noqa: B018
    assert not hasattr(netlab, "Netns")


def test_one_version_source():
    # pyproject.toml takes the version from netlab/plumbing/version.py and writes none of its own ...
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["dynamic"] == ["version"] and "version" not in project["project"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "netlab.plumbing.version.__version__"}
    # ... and the installed package says the same.
    assert importlib.metadata.version("netns-lab") == netlab.__version__


def test_the_public_api_changes_only_on_purpose():
    assert set(netlab.__all__) == {
        # the article: ip netns, exec, inodes, bind mounts
        *("NEW", "call", "inode", "inodes", "label", "namespaces", "netns", "persist", "popen", "run"),
        *("NetnsInfo", "NetlabError", "NetlabPermissionError", "NamespaceExistsError", "NamespaceNotFoundError"),
        *("StaleNamespaceError", "ToolMissingError", "DeviceError", "DeviceExistsError", "DeviceNotFoundError"),
        *("InvalidAddressError", "InvalidNameError"),
        # wiring and labs
        *("Lab", "LabExistsError", "PingResult", "ProbeResult", "links", "nat", "ping", "probe", "reach"),
        *("recording", "sysctl"),
        # the live topology and its pictures
        *("Topology", "TopologyDiff", "diff", "draw", "tree", "snapshot", "namespace_explorer", "ping_tester"),
        # packets, and what a container runtime does (the CNI plugins, netavark)
        *("capture", "packets", "cni"),
        # a container's network without root (slirp4netns, pasta)
        *("rootless", "web"),
        # the lessons: exercises, checks, the article's two shells, where the lab runs
        *("checks", "challenges", "lesson", "nat_reply_captured", "ArticleShells", "environment_kind"),
    }


NOTEBOOKS = sorted((REPO / "notebooks").rglob("[0-9][0-9]-*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO / "notebooks")))
def test_notebooks_come_in_through_the_front_door(path):
    """A lesson imports ``netlab`` or a module the front door names (``netlab.capture``); no ``globals()``."""
    public = {"netlab", *(module for name, module in netlab._MODULES.items() if module == f"netlab.{name}")}
    cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    source = "\n".join("".join(c["source"]) for c in cells)
    imported = re.findall(r"^\s*from (netlab[\w.]*) import", source, re.M)
    imported += re.findall(r"^\s*import (netlab[\w.]*)", source, re.M)
    assert {name for name in imported if name not in public} == set()
    assert "globals()" not in source
