"""The lab's terminals find `netlab`, `ip` and the lesson's tools, however the lab was started.

A lab started with no terminal of its own (a systemd service, a desktop launcher, `setsid`) used to
give terminals running `bash -l`, whose /etc/profile sets PATH afresh: `netlab` was "command not
found" there. Here the lab is started as such a launcher starts it: no controlling terminal, output
to a pipe, and an environment with nothing but `PATH=/usr/bin:/bin` and a fresh HOME. A terminal is
then opened through Jupyter Server's REST API and typed into over its websocket, as JupyterLab does.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from helpers.terminal_socket import screen_of
from lab_server import netlab_lab

from netlab.app.terminals import rcfile_text, shell_command, write_rcfile

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# What the terminal is asked: where each command is, whether the learner's login profile was read.
QUESTION = 'for c in netlab ip nft sysctl ping; do echo "$c=$(command -v $c)"; done; echo "profile=$FROM_PROFILE"'


def _home(tmp_path: Path) -> Path:
    """A learner's home whose ~/.profile, as a login shell reads it, also sets PATH afresh (the worst case)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".profile").write_text("PATH=/usr/bin:/bin\nexport FROM_PROFILE=read\n")
    home.chmod(0o755)
    return home


def _answers(screen: str) -> dict[str, str]:
    found = {}
    for line in screen.replace("\r", "").splitlines():
        name, sep, value = line.partition("=")
        if sep and name in ("netlab", "ip", "nft", "sysctl", "ping", "profile"):
            found[name] = value.strip()
    return found


def get_json(base: str, token: str, path: str, *, method: str = "GET") -> dict:
    """The JSON a Jupyter server at ``base`` answers for ``path``, asked with its token."""
    request = urllib.request.Request(f"{base}{path}", method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


async def _type_into_a_new_terminal(base: str, token: str, command: str) -> str:
    """Open a terminal (POST /api/terminals), type ``command`` and ``exit``, return what its screen showed."""
    name = get_json(base, token, "/api/terminals", method="POST")["name"]
    return await screen_of(f"{base.replace('http', 'ws', 1)}/terminals/websocket/{name}", token, command)


def type_into_a_new_terminal(base: str, token: str, command: str) -> str:
    """What a JupyterLab terminal of the server at ``base`` shows for ``command`` (then ``exit``)."""
    return asyncio.run(_type_into_a_new_terminal(base, token, command))


def test_the_startup_file_does_what_a_login_shell_does_then_puts_netlab_first(tmp_path):
    """The exact command a terminal runs, in an environment as bare as a service's."""
    rcfile = write_rcfile(tmp_path / "lab" / "terminal.bashrc", BIN)
    command = shell_command("/bin/bash", rcfile)
    assert command == ["/bin/bash", "--rcfile", str(rcfile), "-i"]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(_home(tmp_path)), "TERM": "dumb"}
    result = subprocess.run([*command, "-c", QUESTION], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    found = _answers(result.stdout)
    assert found["netlab"] == str(BIN / "netlab"), result.stdout
    assert found["profile"] == "read"  # ~/.profile was read, as `bash -l` reads it
    for tool in ("ip", "nft", "sysctl", "ping"):
        assert found[tool], f"{tool} is not on the terminal's PATH: {result.stdout}"
    # Without the startup file, the login shell the terminal used to run does not find netlab.
    plain = subprocess.run(["/bin/bash", "-l", "-c", QUESTION], env=env, capture_output=True, text=True, timeout=60)
    assert _answers(plain.stdout)["netlab"] == "", plain.stdout


def test_the_startup_file_survives_a_path_with_a_space(tmp_path):
    odd = tmp_path / "a venv" / "bin"
    odd.mkdir(parents=True)
    (odd / "netlab").symlink_to(BIN / "netlab")
    assert "'" in rcfile_text(odd)  # quoted for the shell
    rcfile = write_rcfile(tmp_path / "terminal.bashrc", odd)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(_home(tmp_path)), "TERM": "dumb"}
    result = subprocess.run(
        [*shell_command("/bin/bash", rcfile), "-c", "command -v netlab"], env=env, capture_output=True, text=True
    )
    assert result.stdout.strip() == str(odd / "netlab"), result.stdout + result.stderr


def test_another_shell_runs_as_a_login_shell(tmp_path):
    assert shell_command("/bin/dash", tmp_path / "terminal.bashrc") == ["/bin/dash", "-l"]


@pytest.mark.skipif(os.geteuid() != 0, reason="netlab lab in the test sandbox: root run only, as tests/test_setup.py")
def test_a_lab_started_from_no_terminal_gives_terminals_that_find_netlab(tmp_path):
    home = _home(tmp_path)
    # As `setsid env -i PATH=/usr/bin:/bin HOME=... netlab lab` starts it (netlab_lab: a new session, no tty).
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "NETLAB_LANG": "en"}
    with netlab_lab(REPO / "notebooks", env=env) as lab:
        screen = type_into_a_new_terminal(lab.base, lab.token, QUESTION + "; netlab netns list; echo status=$?")
        settings = get_json(lab.base, lab.token, "/lab/api/settings/@jupyterlab/apputils-extension:notification")
    found = _answers(screen)
    assert found.get("netlab") == str(BIN / "netlab"), screen
    assert found.get("profile") == "read", screen
    for tool in ("ip", "nft", "sysctl", "ping"):
        assert found.get(tool), f"{tool} is not on the terminal's PATH: {screen}"
    assert "status=0" in screen, screen  # netlab itself runs there, in the lab's world
    assert "command not found" not in screen, screen
    # No "receive official Jupyter news?" toast: the lab's settings default to never asking.
    assert isinstance(settings, dict)
    assert settings["schema"]["properties"]["fetchNews"]["default"] == "false", settings["schema"]["properties"]
