"""What can go wrong, and what to do about it.

Every error netlab raises is a ``NetlabError``. Each one names the object it is
about and carries a ``hint``: the next thing a learner can try. Where an error is
really an operating-system condition, it also subclasses the matching ``OSError``
so ``except FileExistsError`` keeps working::

    NetlabError
    ├── InvalidNameError          (ValueError)        a name iproute2 would refuse
    ├── InvalidAddressError       (ValueError)        a CIDR or address that does not parse
    ├── NamespaceExistsError      (FileExistsError)   "netns1" is already in the run directory
    ├── NamespaceNotFoundError    (FileNotFoundError) no such named namespace, pid or path
    ├── StaleNamespaceError                           a run-directory file that is not a mount
    ├── DeviceError                                   a link/address/route the kernel refused
    │   ├── DeviceExistsError     (FileExistsError)
    │   └── DeviceNotFoundError   (FileNotFoundError)
    ├── LabExistsError            (FileExistsError)   a running Lab already has this name
    ├── NetlabPermissionError     (PermissionError)   not root / missing CAP_SYS_ADMIN or CAP_NET_ADMIN
    └── ToolMissingError          (FileNotFoundError) a system command is not installed

Modules with errors of their own subclass ``NetlabError`` beside them: ``capture.CaptureError``
and ``frames.FilterError`` (a capture or a filter that cannot work, both ``ValueError``).
"""

from __future__ import annotations

import errno as _errno

from netlab.i18n import _

__all__ = [
    "DeviceError",
    "DeviceExistsError",
    "DeviceNotFoundError",
    "InvalidAddressError",
    "InvalidNameError",
    "LabExistsError",
    "NamespaceExistsError",
    "NamespaceNotFoundError",
    "NetlabError",
    "NetlabPermissionError",
    "StaleNamespaceError",
    "ToolMissingError",
]


class NetlabError(Exception):
    """Root of every netlab error: ``str(err)`` is the problem, ``err.hint`` the fix."""

    def __init__(self, message: str, *, hint: str = "", subject: object = None, errno: int | None = None):
        self.message = message
        self.hint = hint
        self.subject = subject
        self.errno_code = errno
        super().__init__(message)
        # OSError subclasses use .errno/.strerror; keep them meaningful.
        if isinstance(self, OSError):
            os_error: OSError = self
            os_error.errno = errno
            os_error.strerror = message

    def __str__(self) -> str:
        label = _("hint:")
        return f"{self.message}\n  {label} {self.hint}" if self.hint else self.message


class InvalidNameError(NetlabError, ValueError):
    """A namespace or interface name the kernel or iproute2 would refuse."""


class InvalidAddressError(NetlabError, ValueError):
    """An IP address or CIDR that does not parse, or does not fit where it is used."""


class NamespaceExistsError(NetlabError, FileExistsError):
    """The run directory already holds an entry with this name."""


class NamespaceNotFoundError(NetlabError, FileNotFoundError):
    """No named namespace, process or path with this name exists."""


class StaleNamespaceError(NetlabError):
    """A run-directory entry that is a plain file, not a bind-mounted namespace."""


class DeviceError(NetlabError):
    """The kernel refused an operation on a link, address or route."""


class DeviceExistsError(DeviceError, FileExistsError):
    """An interface, address, route or published port that already exists."""


class DeviceNotFoundError(DeviceError, FileNotFoundError):
    """An interface that is not in the namespace where it was looked for."""


class LabExistsError(NetlabError, FileExistsError):
    """A running Lab already has this name (its journal is in /run/netlab)."""


class NetlabPermissionError(NetlabError, PermissionError):
    """The process lacks the privileges (root, CAP_SYS_ADMIN, CAP_NET_ADMIN) to do this."""


class ToolMissingError(NetlabError, FileNotFoundError):
    """A system command (ip, ping, nft, unshare, ...) is not installed."""


def permission_error(action: str, err: OSError) -> NetlabPermissionError:
    """Wrap EPERM/EACCES from a syscall into an error a learner can act on."""
    return NetlabPermissionError(
        _("not allowed to {action}: {code} ({reason})").format(
            action=action, code=_errno.errorcode.get(err.errno or 0, err.errno), reason=err.strerror
        ),
        hint=_("run as root (sudo), or inside `netlab sandbox`, which gives you a private network world"),
        subject=action,
        errno=err.errno,
    )
