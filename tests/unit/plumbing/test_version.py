"""netlab's one version string: its form, how the build reads it, the changelog and what the installed package says."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

import netlab
from netlab.app import cli
from netlab.plumbing import version

REPO = Path(__file__).resolve().parents[3]
VERSION_PY = REPO / "netlab/plumbing/version.py"


def test_the_version_is_a_plain_semantic_version_that_pypi_writes_the_same_way():
    assert re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", version.__version__)
    assert str(Version(version.__version__)) == version.__version__  # PEP 440's normal form: no renaming on PyPI


def test_version_py_is_one_literal_the_build_reads_without_importing_netlab():
    """pyproject.toml's ``attr:`` is read statically when the module is a plain assignment: no dependency imported."""
    from setuptools.config.expand import read_attr

    module = ast.parse(VERSION_PY.read_text(encoding="utf-8"))
    docstring, *statements = module.body
    assert isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)
    assert [ast.unparse(statement) for statement in statements] == [f"__version__ = {version.__version__!r}"]
    assert read_attr("netlab.plumbing.version.__version__", root_dir=REPO) == version.__version__


def test_the_newest_release_in_the_changelog_is_this_version():
    headings = re.findall(r"^## (.+)$", (REPO / "CHANGELOG.md").read_text(encoding="utf-8"), flags=re.M)
    released = [heading for heading in headings if heading != "Unreleased"]
    assert headings[0] in ("Unreleased", version.__version__)  # work in progress sits above the releases
    assert released[0] == version.__version__
    assert sorted(released, key=Version, reverse=True) == released and len(set(released)) == len(released)


def test_the_package_and_its_command_say_this_version(capsys):
    assert netlab.__version__ is version.__version__
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"netlab {version.__version__} (netns-lab)\n"


def test_the_installed_distribution_has_this_version(tmp_path):
    """Asked from outside the checkout, where no build leftover in it (``*.egg-info``) can answer instead."""
    code = (
        "import importlib.metadata as m, json, netlab\n"
        "try:\n    installed = m.version('netns-lab')\nexcept m.PackageNotFoundError:\n    installed = None\n"
        "print(json.dumps({'version': netlab.__version__, 'installed': installed}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    if done.returncode != 0 and "No module named 'netlab'" in done.stderr:
        pytest.skip("netns-lab is not installed in this Python (pip install -e .)")
    said = json.loads(done.stdout)
    if said["installed"] is None:
        pytest.skip("netlab is importable here, but no netns-lab distribution is installed")
    assert said["installed"] == said["version"] == version.__version__
