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
    ├── LabNotFoundError          (FileNotFoundError) no lab of this name on record
    ├── NetlabPermissionError     (PermissionError)   not root / missing CAP_SYS_ADMIN or CAP_NET_ADMIN
    └── ToolMissingError          (FileNotFoundError) a system command is not installed

Modules with errors of their own subclass ``NetlabError`` beside them: ``capture.CaptureError``
and ``frames.FilterError`` (a capture or a filter that cannot work, both ``ValueError``).

When a message quotes the system's own words for an errno ("File exists"), it takes them from
``reason(exc)``: the same words, in the learner's language. When it quotes the kernel's own sentence
for a refused request ("The interface netns is immutable"), it takes it from ``kernel_words(text)``.
"""

from __future__ import annotations

import errno as _errno
import os

from netlab.plumbing.i18n import N_, _, cjk_spacing

__all__ = [
    "DeviceError",
    "DeviceExistsError",
    "DeviceNotFoundError",
    "InvalidAddressError",
    "InvalidNameError",
    "LabExistsError",
    "LabNotFoundError",
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
        return cjk_spacing(f"{self.message}\n  {label} {self.hint}") if self.hint else self.message


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


class LabNotFoundError(NetlabError, FileNotFoundError):
    """No lab of this name is on record (no journal of it in /run/netlab)."""


class NetlabPermissionError(NetlabError, PermissionError):
    """The process lacks the privileges (root, CAP_SYS_ADMIN, CAP_NET_ADMIN) to do this."""


class ToolMissingError(NetlabError, FileNotFoundError):
    """A system command (ip, ping, nft, unshare, ...) is not installed."""


def permission_error(action: str, err: OSError) -> NetlabPermissionError:
    """Wrap EPERM/EACCES from a syscall into an error a learner can act on."""
    return NetlabPermissionError(
        _("not allowed to {action}: {code} ({reason})").format(
            action=action, code=_errno.errorcode.get(err.errno or 0, err.errno), reason=reason(err)
        ),
        hint=_("run as root (sudo), or inside `netlab sandbox`, which gives you a private network world"),
        subject=action,
        errno=err.errno,
    )


# The system's words (``os.strerror`` on glibc) for the errnos netlab can meet, marked for translation.
_REASONS = {
    _errno.EPERM: N_("Operation not permitted"),
    _errno.ENOENT: N_("No such file or directory"),
    _errno.ESRCH: N_("No such process"),
    _errno.EINTR: N_("Interrupted system call"),
    _errno.EIO: N_("Input/output error"),
    _errno.ENXIO: N_("No such device or address"),
    _errno.E2BIG: N_("Argument list too long"),
    _errno.ENOEXEC: N_("Exec format error"),
    _errno.EBADF: N_("Bad file descriptor"),
    _errno.ECHILD: N_("No child processes"),
    _errno.EAGAIN: N_("Resource temporarily unavailable"),
    _errno.ENOMEM: N_("Cannot allocate memory"),
    _errno.EACCES: N_("Permission denied"),
    _errno.EBUSY: N_("Device or resource busy"),
    _errno.ETXTBSY: N_("Text file busy"),
    _errno.EEXIST: N_("File exists"),
    _errno.EXDEV: N_("Invalid cross-device link"),
    _errno.ENODEV: N_("No such device"),
    _errno.ENOTDIR: N_("Not a directory"),
    _errno.EISDIR: N_("Is a directory"),
    _errno.EINVAL: N_("Invalid argument"),
    _errno.ENFILE: N_("Too many open files in system"),
    _errno.EMFILE: N_("Too many open files"),
    _errno.ENOSPC: N_("No space left on device"),
    _errno.EROFS: N_("Read-only file system"),
    _errno.EMLINK: N_("Too many links"),
    _errno.EPIPE: N_("Broken pipe"),
    _errno.ERANGE: N_("Numerical result out of range"),
    _errno.ENAMETOOLONG: N_("File name too long"),
    _errno.ENOSYS: N_("Function not implemented"),
    _errno.ENOTEMPTY: N_("Directory not empty"),
    _errno.ELOOP: N_("Too many levels of symbolic links"),
    _errno.ENODATA: N_("No data available"),
    _errno.EOVERFLOW: N_("Value too large for defined data type"),
    _errno.EUSERS: N_("Too many users"),
    _errno.ENOTSOCK: N_("Socket operation on non-socket"),
    _errno.EMSGSIZE: N_("Message too long"),
    _errno.ENOPROTOOPT: N_("Protocol not available"),
    _errno.EPROTONOSUPPORT: N_("Protocol not supported"),
    _errno.EOPNOTSUPP: N_("Operation not supported"),
    _errno.EAFNOSUPPORT: N_("Address family not supported by protocol"),
    _errno.EADDRINUSE: N_("Address already in use"),
    _errno.EADDRNOTAVAIL: N_("Cannot assign requested address"),
    _errno.ENETDOWN: N_("Network is down"),
    _errno.ENETUNREACH: N_("Network is unreachable"),
    _errno.ECONNABORTED: N_("Software caused connection abort"),
    _errno.ECONNRESET: N_("Connection reset by peer"),
    _errno.ENOBUFS: N_("No buffer space available"),
    _errno.ENOTCONN: N_("Transport endpoint is not connected"),
    _errno.ETIMEDOUT: N_("Connection timed out"),
    _errno.ECONNREFUSED: N_("Connection refused"),
    _errno.EHOSTDOWN: N_("Host is down"),
    _errno.EHOSTUNREACH: N_("No route to host"),
    _errno.EALREADY: N_("Operation already in progress"),
    _errno.EINPROGRESS: N_("Operation now in progress"),
    _errno.EPROTO: N_("Protocol error"),
}


def reason(err: OSError | int) -> str:
    """The system's words for an error (what ``os.strerror`` says), in the learner's language.

    ``reason(exc)`` for a caught ``OSError``, ``reason(code)`` for a bare errno. Only the system's
    words are translated, where they end the error's text (``"unshare: Operation not permitted"``);
    any other text (the kernel's own extended message, a netlab message) comes back as it is, and so
    does an errno netlab does not expect (``os.strerror``'s English). The exception is left untouched:
    code that compares ``exc.strerror`` keeps working.
    """
    code = err if isinstance(err, int) else err.errno
    text = os.strerror(err) if isinstance(err, int) else err.strerror
    if not isinstance(text, str):
        return str(err)  # an OSError made from a plain message, such as socket.timeout("timed out")
    english = _REASONS.get(code) if code is not None else None
    if english is None or code is None:
        return text
    system = os.strerror(code)
    if not text.endswith(system):
        return text
    translated = _(english)
    return text if translated == english else text[: len(text) - len(system)] + translated


# The kernel's own sentences (netlink's *extended ack*, what ``ip`` prints after "Error:") that
# netlab's requests can provoke, word for word as the kernel writes them, marked for translation.
_KERNEL_WORDS = frozenset(
    {
        N_("The interface netns is immutable"),  # links.move of lo or a bridge (netns-local devices)
        N_("Can not enslave a bridge to a bridge"),  # links.attach of a bridge to a bridge
        N_("Nexthop has invalid gateway"),  # an IPv4 route via a gateway on no connected subnet
        N_("Device for nexthop is not up"),  # an IPv4 route through a device that is down
        N_("Nexthop device is not up"),  # an IPv6 route through a device that is down
        N_("Gateway can not be a local address"),  # an IPv6 route via one of this namespace's addresses
        N_("FIB table does not exist"),  # removing a route from a namespace that has no IPv4 route yet
        N_("ipv4: Address not found"),  # removing an IPv4 address the device does not have
        N_("ipv6: address not found"),  # removing an IPv6 address the device does not have
        N_("ipv6: Invalid address"),  # adding ::/64, the unspecified address
        N_('ipv6: Cannot assign multicast address without "IFA_F_MCAUTOJOIN" flag'),  # adding ff02::5/64
    }
)


def kernel_words(text: str) -> str:
    """The kernel's own sentence for a refused request, in the learner's language.

    Besides an errno, the kernel can say *why* it refused a netlink request, in a sentence of its own
    (the "extended ack" attribute ``NLMSGERR_ATTR_MSG``; ``ip`` prints it as ``Error: ...``).
    A sentence netlab knows comes back translated; any other text, in any language, as it is.
    """
    return _(text) if text in _KERNEL_WORDS else text
