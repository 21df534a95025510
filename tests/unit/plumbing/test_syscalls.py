"""The system-call wrappers: their constants are the kernel's; a refused call is an OSError with the kernel's errno."""

# Nothing here moves a thread or mounts anything: every call made is one the kernel refuses before it
# changes a thing (a bad fd, a wrong namespace kind, an unknown flag, a path that does not exist).

from __future__ import annotations

import errno
import fcntl
import glob
import os
import re
from pathlib import Path

import pytest

from netlab.plumbing import syscalls

NS_GET_NSTYPE = 0xB703  # linux/nsfs.h: _IO(NSIO = 0xb7, 0x3), what kind of namespace an nsfs fd is

HEADERS = {
    "sched": ["/usr/include/linux/sched.h"],
    "mount": ["/usr/include/linux/mount.h"],
    "glibc-mount": ["/usr/include/sys/mount.h", *glob.glob("/usr/include/*-linux-gnu/sys/mount.h")],
}


def _header_value(header: str, name: str) -> int | None:
    """``name``'s value in a kernel or glibc header: ``#define NAME 0x40000000``, ``(1<<18)`` or ``NAME = 2,``."""
    for path in HEADERS[header]:
        if not os.path.exists(path):
            continue
        text = Path(path).read_text(errors="replace")
        if m := re.search(rf"^#define\s+{name}\s+\(?\s*(\d+)\s*<<\s*(\d+)\s*\)", text, flags=re.M):
            return int(m[1]) << int(m[2])
        if m := re.search(rf"^#define\s+{name}\s+(0x[0-9a-fA-F]+|\d+)\b", text, flags=re.M):
            return int(m[1], 0)
        if m := re.search(rf"^\s*{name}\s*=\s*(0x[0-9a-fA-F]+|\d+)\s*,?", text, flags=re.M):
            return int(m[1], 0)
    return None


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("CLONE_NEWNS", "sched"),
        ("CLONE_NEWUSER", "sched"),
        ("CLONE_NEWNET", "sched"),
        ("CLONE_FS", "sched"),
        *[(f"MS_{flag}", "mount") for flag in ("RDONLY", "NOSUID", "NODEV", "NOEXEC", "REMOUNT", "BIND", "REC")],
        *[(f"MS_{flag}", "mount") for flag in ("PRIVATE", "SLAVE", "SHARED")],
        ("MNT_DETACH", "glibc-mount"),
        ("UMOUNT_NOFOLLOW", "glibc-mount"),
    ],
)
def test_each_constant_has_the_value_the_headers_and_python_give_it(name, header):
    known = {"header": _header_value(header, name), "os": getattr(os, name, None)}  # os.CLONE_* from Python 3.12
    known = {source: value for source, value in known.items() if value is not None}
    if not known:
        pytest.skip(f"neither the headers (linux-libc-dev, libc6-dev) nor this Python's os know {name}")
    assert known == dict.fromkeys(known, getattr(syscalls, name))


@pytest.mark.parametrize(("kind", "name"), [("net", "CLONE_NEWNET"), ("mnt", "CLONE_NEWNS"), ("user", "CLONE_NEWUSER")])
def test_the_running_kernel_calls_each_namespace_kind_by_the_constant_netlab_uses(kind, name):
    """NS_GET_NSTYPE only reads: the kernel says which kind of namespace /proc/self/ns/KIND is."""
    fd = os.open(f"/proc/self/ns/{kind}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        assert fcntl.ioctl(fd, NS_GET_NSTYPE) == getattr(syscalls, name)
    finally:
        os.close(fd)


def _here() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


@pytest.mark.parametrize("which", ["closed", "minus-one"])
def test_setns_on_a_bad_fd_is_an_oserror_with_ebadf(which):
    fd = -1
    if which == "closed":
        fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        os.close(fd)
    before = _here()
    with pytest.raises(OSError) as err:
        syscalls.setns(fd, syscalls.CLONE_NEWNET)
    assert err.value.errno == errno.EBADF
    assert err.value.strerror == f"setns: {os.strerror(errno.EBADF)}" and err.value.filename is None
    assert _here() == before


def test_setns_on_a_file_that_is_no_namespace_is_einval(tmp_path):
    plain = tmp_path / "not-a-namespace"
    plain.write_text("")
    fd = os.open(plain, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with pytest.raises(OSError) as err:
            syscalls.setns(fd)  # the default kind: a network namespace
    finally:
        os.close(fd)
    assert err.value.errno == errno.EINVAL and str(err.value) == f"[Errno 22] setns: {os.strerror(errno.EINVAL)}"


def test_setns_refuses_a_namespace_of_another_kind_than_asked_and_leaves_the_thread_where_it_was():
    """A network namespace's fd with ``CLONE_NEWNS``: the kernel checks the kind before anything else."""
    before = _here()
    fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        with pytest.raises(OSError) as err:
            syscalls.setns(fd, syscalls.CLONE_NEWNS)
    finally:
        os.close(fd)
    assert err.value.errno == errno.EINVAL
    assert _here() == before


def test_unshare_with_a_flag_the_kernel_does_not_know_is_einval_and_changes_nothing():
    before = _here()
    with pytest.raises(OSError) as err:
        syscalls.unshare(0x1)  # a signal number's bit (CSIGNAL), never a namespace kind: refused up front
    assert err.value.errno == errno.EINVAL and err.value.strerror == f"unshare: {os.strerror(errno.EINVAL)}"
    assert _here() == before


def test_mount_onto_a_missing_path_is_a_file_not_found_error_naming_the_target(tmp_path):
    target = tmp_path / "missing"
    with pytest.raises(FileNotFoundError) as bind:
        syscalls.mount(tmp_path / "nothing-here", target, flags=syscalls.MS_BIND)
    with pytest.raises(FileNotFoundError) as propagation:  # no source, no type, no data: all None
        syscalls.mount(None, str(target), None, syscalls.MS_PRIVATE)
    for err in (bind.value, propagation.value):
        assert err.errno == errno.ENOENT and err.filename == str(target)
        assert err.strerror == f"mount: {os.strerror(errno.ENOENT)}"
    assert list(tmp_path.iterdir()) == []


def test_umount2_says_why_it_refused_and_names_the_target(tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(FileNotFoundError) as gone:
        syscalls.umount2(missing, syscalls.MNT_DETACH)
    assert gone.value.filename == str(missing) and gone.value.strerror == f"umount2: {os.strerror(errno.ENOENT)}"
    with pytest.raises(OSError) as bad_flag:
        syscalls.umount2(str(tmp_path), 0x100)  # no umount2 flag: refused before the path is even looked up
    assert bad_flag.value.errno == errno.EINVAL and bad_flag.value.filename == str(tmp_path)
