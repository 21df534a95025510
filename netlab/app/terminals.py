"""The lab's terminals: a login shell, as JupyterLab opens one, in which ``netlab`` and ``ip`` are found.

A JupyterLab terminal started by a lab that has no terminal of its own (a systemd service, a desktop
launcher, ``setsid``, the VM) runs ``bash -l``, a *login* shell, and a login shell reads
``/etc/profile`` first, which sets ``PATH`` afresh::

    PATH="/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"     # /etc/profile, not root

So ``netlab``, in the lab's virtual environment, is "command not found", and an ordinary user
misses ``/usr/sbin`` (``nft``, ``sysctl``). Bash offers no hook after a login shell's profile, so
the lab's terminals run::

    bash --rcfile LAB/terminal.bashrc -i

and that file does what ``bash -l`` does (``/etc/profile``, then the first of ``~/.bash_profile``,
``~/.bash_login``, ``~/.profile``), then puts the lab's own commands back in front of ``PATH`` and
the ``sbin`` folders behind it. The learner gets the same shell however the lab was started. A
shell other than bash (``$SHELL``) runs as a login shell, as JupyterLab would run it.

JupyterLab reads the command from its ``ServerApp.terminado_settings`` (``shell_command``).
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

__all__ = ["RCFILE", "rcfile_text", "shell_command", "terminado_option", "write_rcfile"]

RCFILE = "terminal.bashrc"
# Where the lesson's tools live when /etc/profile leaves them out (an ordinary user's PATH).
SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")

_TEMPLATE = """\
# netlab: the lab's terminals start bash with this file: bash --rcfile THIS_FILE -i
# It does what a login shell (bash -l) does, then puts the lab's commands back in front of PATH,
# because /etc/profile sets PATH afresh.
if [ -r /etc/profile ]; then . /etc/profile; fi
if [ -r ~/.bash_profile ]; then . ~/.bash_profile
elif [ -r ~/.bash_login ]; then . ~/.bash_login
elif [ -r ~/.profile ]; then . ~/.profile
fi
for netlab_dir in {sbin}; do  # ip, nft, sysctl: the lesson's tools
    case ":$PATH:" in *":$netlab_dir:"*) ;; *) PATH=$PATH:$netlab_dir ;; esac
done
netlab_dir={bin}  # netlab, jupyter: the lab's own commands
case ":$PATH:" in ":$netlab_dir:"*) ;; *) PATH=$netlab_dir:$PATH ;; esac
export PATH
unset netlab_dir
"""


def rcfile_text(bin_dir: Path) -> str:
    """The bash startup file of the lab's terminals, with ``bin_dir`` (the lab's commands) first on PATH."""
    return _TEMPLATE.format(sbin=" ".join(SBIN), bin=shlex.quote(str(bin_dir)))


def write_rcfile(path: Path, bin_dir: Path) -> Path:
    """Write :func:`rcfile_text` to ``path`` (readable by everyone: a learner's shell reads it); return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rcfile_text(bin_dir), encoding="utf-8")
    os.chmod(path, 0o644)
    return path


def shell_command(shell: str, rcfile: Path) -> list[str]:
    """The command a terminal runs: bash with the lab's ``rcfile``; any other shell as a login shell."""
    if Path(shell).name == "bash":
        return [shell, "--rcfile", str(rcfile), "-i"]
    return [shell, "-l"]


def terminado_option(shell: str, rcfile: Path) -> str:
    """The ``jupyter lab`` option that makes every terminal run :func:`shell_command`."""
    settings = {"shell_command": shell_command(shell, rcfile)}
    return "--ServerApp.terminado_settings=" + json.dumps(settings)
