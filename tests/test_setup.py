"""The learner's set-up: environment.yml, the Vagrantfile, the provisioning script, `netlab lab`, the wheel."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from lab_server import NETLAB, cmdline, free_port, http_status, netlab_lab, stop, wait_for_url
from test_terminals import get_json, type_into_a_new_terminal

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, from PyPI (the test extra installs it)
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
VENV = Path(sys.executable).parent.parent


def _requirement_names(requirements: list[str]) -> dict[str, str]:
    found = {}
    for req in requirements:
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", req.strip())
        assert match, f"not a requirement: {req!r}"
        found[match.group(1).lower()] = match.group(2).replace(" ", "")
    return found


def test_environment_yml_matches_pyproject():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str) and not d.startswith(("python", "pip"))]
    assert _requirement_names(conda) == _requirement_names(pyproject["project"]["dependencies"])
    assert "conda-forge" in env["channels"]
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python.replace("python", "") == pyproject["project"]["requires-python"]


@pytest.fixture(scope="module")
def vagrant():
    if not shutil.which("vagrant"):
        pytest.skip("vagrant is not installed (./scripts/test installs Debian's vagrant)")
    return shutil.which("vagrant")


def test_vagrantfile_validates(vagrant, tmp_path):
    result = subprocess.run(
        [vagrant, "validate", "--ignore-provider"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=dict(os.environ, VAGRANT_HOME=str(tmp_path)),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "validated successfully" in result.stdout
    # validate really checks: a typo in a setting fails it.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "Vagrantfile").write_text(
        (REPO / "Vagrantfile").read_text().replace("config.vm.hostname", "config.vm.hostnam")
    )
    result = subprocess.run(
        [vagrant, "validate", "--ignore-provider"],
        cwd=broken,
        capture_output=True,
        text=True,
        env=dict(os.environ, VAGRANT_HOME=str(tmp_path)),
    )
    assert result.returncode != 0


def test_vagrantfile_forwards_to_localhost_only_and_provisions_with_the_repo_script():
    text = (REPO / "Vagrantfile").read_text()
    assert re.search(r'forwarded_port.*guest: 8888.*host_ip: "127\.0\.0\.1"', text)
    assert 'path: "scripts/provision"' in text
    assert os.access(REPO / "scripts/provision", os.X_OK)
    for box in re.findall(r'vm\.box = "([^"]+)"', text):
        assert box in ("bento/debian-12", "debian/bookworm64")


def test_provision_installs_a_verified_service_that_serves_with_a_token(tmp_path):
    port = free_port()
    env = dict(os.environ, NETLAB_PREFIX=str(tmp_path), NETLAB_VENV=str(VENV), NETLAB_PORT=str(port))
    first = subprocess.run([str(REPO / "scripts/provision")], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    token_file = tmp_path / "etc/netlab/token"
    token = token_file.read_text()
    assert len(token) >= 32 and token.strip() == token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    unit = tmp_path / "etc/systemd/system/netlab-lab.service"
    unit_text = unit.read_text()
    assert f"?token={token}" in first.stdout

    # Running it again changes nothing (idempotent): same token, same unit.
    again = subprocess.run([str(REPO / "scripts/provision")], env=env, capture_output=True, text=True)
    assert again.returncode == 0 and token_file.read_text() == token and unit.read_text() == unit_text

    # systemd accepts the unit (and does reject a broken one).
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    bad = tmp_path / "bad.service"
    bad.write_text(unit_text.replace('ExecStart="/', 'ExecStart="relative/'))
    assert subprocess.run(["systemd-analyze", "verify", str(bad)], capture_output=True).returncode != 0

    # systemd cannot start services here (it is not PID 1): run its command as systemd would.
    lines = [line.split("=", 1) for line in unit_text.splitlines() if "=" in line]
    fields = dict(lines)
    assignments = [shlex.split(value)[0] for key, value in lines if key == "Environment"]  # "NAME=VALUE"
    service_env = dict(os.environ, **dict(assignment.split("=", 1) for assignment in assignments))
    assert service_env["PATH"].startswith(f"{VENV}/bin:")  # kernels and terminals find `netlab`
    proc = subprocess.Popen(
        shlex.split(fields["ExecStart"]),
        cwd=fields["WorkingDirectory"],
        env=service_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_url(f"{base}/api/status", proc)
        assert http_status(f"{base}/api/status?token={token}") == 200
        assert http_status(f"{base}/api/status") == 403
        assert http_status(f"{base}/api/status?token=wrong") == 403
        # Its terminals find netlab although a login shell's /etc/profile resets PATH (a service has no tty).
        screen = type_into_a_new_terminal(base, token, 'echo "netlab=$(command -v netlab)"')
        assert f"netlab={VENV}/bin/netlab" in screen.replace("\r", ""), screen
        # And no "receive official Jupyter news?" toast over them.
        schema = get_json(base, token, "/lab/api/settings/@jupyterlab/apputils-extension:notification")["schema"]
        assert schema["properties"]["fetchNews"]["default"] == "false"
    finally:
        stop(proc)


def test_netlab_lab_serves_from_a_sandbox_and_cleans_up():
    port = free_port()
    with netlab_lab(REPO / "notebooks", port=port) as lab:
        assert lab.url.startswith(f"http://127.0.0.1:{port}/lab/tree/00-start-here.ipynb?token=")
        assert http_status(f"{lab.base}/api/status?token={lab.token}") == 200
        assert http_status(f"{lab.base}/api/status") == 403
        # The server (and so its kernels and terminals) lives in a world of its own.
        assert lab.workdir.name.startswith("netlab-lab-")
        assert (lab.workdir / "jupyter.sock").is_socket()
        assert b"jupyter" in cmdline(lab.server)
        assert os.readlink(lab.server / "ns/net") != os.readlink("/proc/self/ns/net")
    assert not lab.workdir.exists()


def _listed() -> str:
    result = subprocess.run([NETLAB, "lab", "--list"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _server_info(lab) -> dict:
    """The jpserver-PID.json JupyterLab wrote in the lab's own runtime directory (PID 2: its sandbox's)."""
    (info,) = (lab.workdir / "runtime").glob("jpserver-*.json")
    return json.loads(info.read_text())


def test_two_labs_have_a_runtime_directory_each_and_both_are_listed():
    with netlab_lab(REPO / "notebooks") as first, netlab_lab(REPO / "notebooks") as second:
        listed = _listed()
        assert first.url in listed and second.url in listed
        for lab in (first, second):
            assert _server_info(lab)["sock"] == str(lab.workdir / "jupyter.sock")
        stop(first.proc)
        listed = _listed()
        assert first.url not in listed and second.url in listed
        assert _server_info(second)["sock"] == str(second.workdir / "jupyter.sock")  # the first's end left it
    assert second.url not in _listed()


# -- the package as pip installs it: a wheel, in a virtual environment far from this clone ------------

VERSION = re.search(r'__version__ = "(.+)"', (REPO / "netlab/plumbing/version.py").read_text()).group(1)

# What a wheel is built from: the package, its lessons and its metadata (not this clone's caches).
SOURCE = ["pyproject.toml", "setup.py", "README.md", "LICENSE", "netlab", "notebooks"]


def _lessons(folder: Path) -> dict[str, list[str]]:
    """The notebooks in ``folder`` and in each of its translation folders (zh-CN/ ...): folder -> names."""
    found = {"": sorted(p.name for p in folder.glob("*.ipynb"))}
    for sub in sorted(folder.iterdir()):
        if sub.is_dir() and not sub.name.startswith("."):
            found[sub.name] = sorted(p.name for p in sub.glob("*.ipynb"))
    return found


@pytest.fixture(scope="module")
def deps() -> Iterator[Path]:
    """This environment, reached through a link straight in /tmp: as from a clone in /tmp, and its .venv."""
    link = Path(tempfile.mkdtemp(prefix="netlab-deps-", dir="/tmp")) / "venv"
    link.symlink_to(VENV)
    try:
        yield link
    finally:
        shutil.rmtree(link.parent)  # the link, not what it points to


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory, deps: Path) -> Path:
    """netlab built as a wheel and installed into a fresh virtual environment outside the clone.

    The sandbox has no network, so the wheel is built without build isolation (the test extra
    brings setuptools), and the fresh environment takes netlab's dependencies from this one
    through a ``.pth`` line (by way of ``deps``, in /tmp): netlab itself comes only from the wheel.
    """
    top = tmp_path_factory.mktemp("wheel")
    source = top / "source"
    source.mkdir()
    for name in SOURCE:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", ".*"))
        else:
            shutil.copy2(REPO / name, source / name)
    # `python -m build`, as a release is made: the sdist, then the wheel built from the sdist.
    build = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(top / "dist"), str(source)]
    result = subprocess.run(build, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (wheel,) = (top / "dist").glob("netns_lab-*.whl")

    venv = top / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin/python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dependencies = deps / Path(sysconfig.get_paths()["purelib"]).relative_to(VENV)
    Path(purelib, "netlab-test-dependencies.pth").write_text(f"{dependencies}\n")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q"]
    result = subprocess.run([*install, str(wheel)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # The jupyter commands, as pip would have written them for this environment's Python. (Under a
    # path with a space, pip starts a script with `#!/bin/sh` and an `exec` of its Python: 3 lines.)
    for script in VENV.glob("bin/jupyter*"):
        lines = script.read_text().splitlines(keepends=True)
        trampoline = len(lines) > 3 and lines[0] == "#!/bin/sh\n" and lines[1].startswith("'''exec' ")
        if trampoline or (lines and lines[0].startswith("#!") and "python" in lines[0]):
            copy = venv / "bin" / script.name
            copy.write_text(f"#!{python}\n" + "".join(lines[3 if trampoline else 1 :]))
            copy.chmod(0o755)
    return venv


def test_the_wheel_carries_the_version_the_license_and_the_lessons(wheel_venv):
    python = str(wheel_venv / "bin/python")
    code = (
        "import importlib.metadata as m, json, netlab, pathlib\n"
        "d = m.distribution('netns-lab')\n"
        "print(json.dumps({'file': netlab.__file__, 'version': netlab.__version__, 'dist': d.version,\n"
        "    'license': d.metadata['License-Expression'], 'files': [str(f) for f in d.files]}))"
    )
    # Run from elsewhere: `python -c` looks in the current directory first, and here that is the clone.
    run = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, cwd=wheel_venv)
    info = json.loads(run.stdout)
    package = Path(info["file"]).parent
    assert package.is_relative_to(wheel_venv) and not package.is_relative_to(REPO)  # the wheel's copy, not this clone
    assert info["version"] == info["dist"] == VERSION
    assert info["license"] == "MIT"
    assert any(f.endswith("licenses/LICENSE") for f in info["files"])
    assert (package / "py.typed").is_file()
    # Every module of the clone is in the wheel (a folder without __init__.py would be left out).
    modules = {str(p.relative_to(REPO / "netlab")) for p in (REPO / "netlab").rglob("*.py")}
    assert modules == {str(p.relative_to(package)) for p in package.rglob("*.py")}
    assert _lessons(package / "notebooks") == _lessons(REPO / "notebooks")


def test_the_release_passes_twine_check_under_a_name_of_its_own(wheel_venv):
    """sdist and wheel as PyPI would take them: netns-lab (PyPI's "netlab" is another project)."""
    dist = wheel_venv.parent / "dist"
    names = sorted(path.name for path in dist.iterdir())
    assert names == [f"netns_lab-{VERSION}-py3-none-any.whl", f"netns_lab-{VERSION}.tar.gz"]
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, sorted(dist.iterdir()))],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stdout.count("PASSED") == 2, result.stdout + result.stderr


@pytest.mark.parametrize("command", ["netlab", "netns-lab"])
def test_both_commands_from_the_wheel_say_the_version(wheel_venv, tmp_path, command):
    """`netns-lab` beside `netlab`: the same program under a name ipspace's netlab does not use."""
    result = subprocess.run(
        [str(wheel_venv / "bin" / command), "--version"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"netlab {VERSION} (netns-lab)"


def test_netlab_from_the_wheel_answers_help(wheel_venv, tmp_path):
    result = subprocess.run([str(wheel_venv / "bin/netlab"), "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "lab" in result.stdout and "sandbox" in result.stdout


def test_netlab_lab_from_the_wheel_serves_its_own_lessons(wheel_venv, deps, tmp_path):
    elsewhere = tmp_path / "far" / "from" / "the" / "clone"
    elsewhere.mkdir(parents=True)
    home = tmp_path / "home"
    home.mkdir()
    env = dict(
        os.environ,
        HOME=str(home),
        NETLAB_LANG="en",
        # JupyterLab's own files (the page, its settings) from this environment, as if installed there too.
        JUPYTER_PATH=str(deps / "share/jupyter"),
        JUPYTERLAB_DIR=str(deps / "share/jupyter/lab"),
    )
    netlab = str(wheel_venv / "bin/netlab")
    with netlab_lab(None, command=netlab, cwd=elsewhere, env=env) as lab:
        root_dir = next(a for a in cmdline(lab.server).split(b"\0") if a.startswith(b"--ServerApp.root_dir="))
        served = Path(os.fsdecode(root_dir.split(b"=", 1)[1]))
        assert served == home / "netlab-lessons"  # the learner's own copy, not the package's
        listing = lab.api("contents")
        assert isinstance(listing, dict)
        names = sorted(item["name"] for item in listing["content"] if item["type"] == "notebook")
        assert names == _lessons(REPO / "notebooks")[""] and "00-start-here.ipynb" in names
        for translation, notebooks in _lessons(REPO / "notebooks").items():
            if translation:
                inside = lab.api(f"contents/{translation}")
                assert isinstance(inside, dict)
                assert sorted(item["name"] for item in inside["content"]) == notebooks
        assert http_status(f"{lab.base}/api/contents") == 403  # and nothing without the token
    assert not lab.workdir.exists()


# -- what ./scripts/lab installs, and how quietly ------------------------------------------------------


def test_scripts_lab_installs_only_what_a_learner_needs_and_quietly(tmp_path):
    """`./scripts/lab` installs netlab without the test extra, with pip quiet and setuptools' notices off.

    The virtual environment is a stand-in whose `python` writes down how it was called (the sandbox has
    no network to install from); then `./scripts/lab --help` runs the real `netlab lab --help`.
    """
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    calls = tmp_path / "calls"
    fake = venv / "bin/python"
    fake.write_text(f'#!/bin/sh\necho "PYTHONWARNINGS=$PYTHONWARNINGS $*" >> {shlex.quote(str(calls))}\n')
    fake.chmod(0o755)
    env = dict(os.environ, NETLAB_VENV=str(venv), NETLAB_SYSTEM_PACKAGES="0")
    env.pop("NETLAB_EXTRAS", None)
    result = subprocess.run([str(REPO / "scripts/lab"), "--help"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--notebooks" in result.stdout  # netlab lab's own help: the lab would start
    installs = [line for line in calls.read_text().splitlines() if " install " in line and "-e" in line.split()]
    assert installs == [f"PYTHONWARNINGS=ignore:Editable installation -m pip install -q -e {REPO}"], installs
    assert (venv / ".netlab-installed-learner").exists()
    # The test command still gets its extra.
    result = subprocess.run([str(REPO / "scripts/install")], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines()[-1].endswith(f"-m pip install -q -e {REPO}[test]")


def test_every_folder_of_the_package_is_listed_so_setuptools_has_nothing_to_warn_about():
    """setuptools warns ("Package would be ignored", 30 lines each) about a folder with package data that
    Python could import but `packages` leaves out: netlab/locale and its language folders were such."""
    code = (
        "import json, setuptools\n"
        "from distutils.core import run_setup\n"
        "print(json.dumps(run_setup('setup.py', stop_after='init').packages))"
    )
    listed = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    packages = set(json.loads(listed.stdout.splitlines()[-1]))
    folders = {
        ".".join(path.relative_to(REPO).parts)
        for path in [REPO / "netlab", *(REPO / "netlab").rglob("*")]
        if path.is_dir() and path.name != "__pycache__" and any(p.is_file() for p in path.iterdir())
    }
    assert folders - packages == set(), "folders with files that setup.py does not list as packages"
    assert "netlab.locale" in packages and "netlab.notebooks" in packages
    assert not any("__pycache__" in name for name in packages)
