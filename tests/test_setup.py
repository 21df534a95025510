"""The learner's set-up: environment.yml, the Vagrantfile, the provisioning script and `netlab lab`."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml
from lab_server import cmdline, free_port, http_status, netlab_lab, stop, wait_for_url

REPO = Path(__file__).resolve().parent.parent
VENV = Path(sys.executable).parent.parent


def _requirement_names(requirements: list[str]) -> dict[str, str]:
    found = {}
    for req in requirements:
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", req.strip())
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
    bad.write_text(unit_text.replace("ExecStart=/", "ExecStart=relative/"))
    assert subprocess.run(["systemd-analyze", "verify", str(bad)], capture_output=True).returncode != 0

    # systemd cannot start services here (it is not PID 1): run its command as systemd would.
    lines = [line.split("=", 1) for line in unit_text.splitlines() if "=" in line]
    fields = dict(lines)
    service_env = dict(os.environ, **dict(value.split("=", 1) for key, value in lines if key == "Environment"))
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
