"""A local stand-in for a netlab pod's security context (classroom/k8s/values.yaml), to run pod mode here.

    python tests/pod_emulation.py [--procmount unmasked|default] [--no-seccomp] -- CMD ...

It builds, step by step, what the container runtime builds for the pod (``hostUsers: false``,
capabilities NET_ADMIN, NET_BIND_SERVICE, NET_RAW and SYS_ADMIN only, the Localhost seccomp
profile, an unmasked ``/proc``), then runs CMD in there with ``NETLAB_POD_MODE=1``:

1. a user namespace of its own with 65536 ids, as Kubernetes gives a pod; its root is this
   machine's root only for files (as the image's files belong to the pod's root through an
   idmapped mount), never for capabilities, which count only inside the pod's namespaces;
2. the pod's own network, mount, PID, IPC and UTS namespaces; ``lo`` up (the CNI plugin's job);
3. a fresh ``/proc`` for the PID namespace (``procMount: Unmasked``), or the runtime's default
   masks on it (``--procmount default``: read-only ``/proc/sys``, ``/dev/null`` over
   ``/proc/kcore``...); ``/sys`` read-only; private ``/tmp`` and ``/run`` (the writable image),
   with this clone and its Python bound back when they live in /tmp (the image carries netlab);
4. the capability bounding set cut to the four (``setpriv --bounding-set``), as ``drop: [ALL]``
   + ``add: [...]`` does;
5. last, as runc does, the seccomp profile ``classroom/k8s/seccomp/netlab.json``, loaded through
   libseccomp without no_new_privs, as a pod without ``allowPrivilegeEscalation: false`` has it.

``--rootfs DIR`` runs CMD in an unpacked image instead of this machine's files (a chroot), so
the image that ``scripts/image`` builds can run under the same security context.

What it cannot show: the node's AppArmor profile, the runtime's idmapped mounts and cgroup limits,
the CNI network, the NetworkPolicy and Kubernetes' own validation (the docs list them).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROFILE = REPO / "classroom/k8s/seccomp/netlab.json"
CAPABILITIES = ("net_admin", "net_bind_service", "net_raw", "sys_admin")
ID_COUNT = 65536  # ids per pod, as the kubelet maps them
OUTER_BASE = 100000  # where the pod's ids 1..65535 land on this machine
IMAGE_HOME = "/home/jovyan"  # where Zero to JupyterHub mounts a student's home volume
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's Python: in the image too, and readable by any user

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
MNT_DETACH = 2
# The runtime's defaults for a container's /proc (procMount: Default): masked, and read-only.
MASKED = ("/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/scsi")
READ_ONLY = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                    data.encode() if data else None),
        f"mount {target}",
    )  # fmt: skip


def wide_map_possible() -> bool:
    """True when this process may map 65536 ids (root of the machine's own user namespace)."""
    return os.getuid() == 0 and Path("/proc/self/uid_map").read_text().split() == ["0", "0", "4294967295"]


def _write_maps(pid: int) -> None:
    if wide_map_possible():
        lines = f"0 0 1\n1 {OUTER_BASE + 1} {ID_COUNT - 1}\n"
    else:  # already in a user namespace with one id (a rootless run): the pod's root is all we can map
        lines = f"0 {os.getuid()} 1\n"
        Path(f"/proc/{pid}/setgroups").write_text("deny")
    Path(f"/proc/{pid}/uid_map").write_text(lines)
    Path(f"/proc/{pid}/gid_map").write_text(lines.replace(f"0 {os.getuid()} 1", f"0 {os.getgid()} 1"))


def _detach_below(top: str, keep: list[str]) -> None:
    with open("/proc/self/mountinfo") as mountinfo:
        points = [line.split()[4] for line in mountinfo]
    for point in sorted((p for p in points if p.startswith(top + "/")), key=len, reverse=True):
        if any(k == point or k.startswith(point + "/") or point.startswith(k + "/") for k in keep):
            continue  # on the way to, or inside, what is bound back
        if _libc.umount2(point.encode(), MNT_DETACH) != 0:
            pass  # locked to its parent (a rootless run): it stays hidden under the new tmpfs


def _image_files_in(top: str) -> list[str]:
    """This clone and the Python running it, where they live under ``top``: the image would carry them."""
    found = {os.path.realpath(p) for p in (REPO, sys.prefix, os.path.dirname(os.path.realpath(sys.executable)))}
    under = [p for p in found if p.startswith(top + "/")]
    return sorted(p for p in under if not any(p.startswith(q + "/") for q in under))  # the outermost ones


def _writable_image_dirs() -> None:
    """Fresh /tmp and /run, as the image has them; done before the user namespace, which locks the mounts."""
    _unshare(CLONE_NEWNS)
    _mount("", "/", None, MS_REC | MS_PRIVATE)
    for path in ("/tmp", "/run"):
        keep = _image_files_in(path)
        fds = [os.open(k, os.O_PATH | os.O_CLOEXEC) for k in keep]
        _detach_below(path, keep)  # the image's /run and /tmp hold no mounts: leave none hidden under ours
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" if path == "/tmp" else "mode=0755")
        for k, fd in zip(keep, fds, strict=True):
            os.makedirs(k, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", k, None, MS_BIND | MS_REC)
            os.close(fd)


def _pod_filesystems(procmount: str) -> None:
    _mount("", "/", None, MS_REC | MS_PRIVATE)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    if procmount == "default":
        for path in MASKED:
            if os.path.isdir(path):
                _mount("tmpfs", path, "tmpfs", MS_RDONLY)
            elif os.path.exists(path):
                _mount("/dev/null", path, None, MS_BIND)
        for path in READ_ONLY:
            if os.path.exists(path):
                _mount(path, path, None, MS_BIND | MS_REC)
                _mount(path, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)
    _mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def _enter(rootfs: Path) -> None:
    """Make ``rootfs`` the root, with the pod's /proc, /sys, /dev and fresh /tmp and /run in it."""
    root = str(rootfs.resolve())
    _mount(root, root, None, MS_BIND | MS_REC)
    _mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount("sysfs", f"{root}/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount("/dev", f"{root}/dev", None, MS_BIND | MS_REC)
    for path in ("/tmp", "/run"):
        _mount("tmpfs", root + path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" if path == "/tmp" else "mode=0755")
    if os.path.isdir(root + IMAGE_HOME):  # the student's home volume: the image's files stay as built
        _mount("tmpfs", root + IMAGE_HOME, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    os.chroot(root)
    os.chdir("/")


def _init(command: list[str]) -> int:
    """PID 1 of the emulated pod: start the command, reap orphans, return the command's status."""
    child = os.fork()
    if child == 0:
        os.execvp(command[0], command)
    while True:
        pid, status = os.wait()
        if pid == child:
            return os.waitstatus_to_exitcode(status)


def run_pod(
    command: list[str],
    *,
    procmount: str = "unmasked",
    seccomp: bool = True,
    user: str | None = None,
    rootfs: Path | None = None,
) -> int:
    """Run ``command`` in an emulated netlab pod; return its exit status (call from a single-threaded process).

    ``user``: "UID:GID" in the pod instead of its root (runAsUser/runAsGroup); such a process keeps
    no capability, and loads the seccomp filter with no_new_privs, as it could not otherwise.
    ``rootfs``: run in that root filesystem (an unpacked image) instead of this machine's.
    """
    inner = ["setpriv"]
    if user:
        uid, _, gid = user.partition(":")
        inner += ["--reuid", uid, "--regid", gid or uid, "--clear-groups"]
    inner += ["--bounding-set", "-all," + ",".join(f"+{c}" for c in CAPABILITIES), "--"]
    tail = ["env", "NETLAB_POD_MODE=1", *command]
    if seccomp:
        call = f"seccomp_exec({PROFILE.read_text()!r}, {bool(user)}, {tail!r})"
        tail = [SYSTEM_PYTHON, "-c", inspect.getsource(seccomp_exec) + "\n" + call]
    inner += tail
    ready_r, ready_w = os.pipe()
    mapped_r, mapped_w = os.pipe()
    pod = os.fork()
    if pod == 0:
        try:
            os.close(ready_r)
            os.close(mapped_w)
            _writable_image_dirs()
            _unshare(CLONE_NEWUSER)
            os.write(ready_w, b"u")
            if os.read(mapped_r, 1) != b"m":
                os._exit(125)
            _unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS)
            first = os.fork()
            if first == 0:
                _pod_filesystems(procmount)
                if rootfs is not None:
                    _enter(rootfs)
                    os.execvp(inner[0], inner)  # an image brings its own PID 1 (tini)
                os._exit(_init(inner))
            os._exit(os.waitstatus_to_exitcode(os.waitpid(first, 0)[1]))
        except BaseException as exc:
            print(f"pod emulation: {exc}", file=sys.stderr)
            os._exit(125)
    os.close(ready_w)
    os.close(mapped_r)
    if os.read(ready_r, 1) == b"u":
        _write_maps(pod)
        os.write(mapped_w, b"m")
    os.close(mapped_w)
    return os.waitstatus_to_exitcode(os.waitpid(pod, 0)[1])


def seccomp_exec(profile_text: str, no_new_privs: bool, command: list[str]) -> None:
    """Load a Kubernetes/OCI seccomp profile (JSON) into this process with libseccomp, then exec ``command``.

    Self-contained (only ctypes and libseccomp.so.2, which apt itself needs): it runs as
    ``python3 -c``, also in an image's root filesystem. Rules go to this machine's own architecture.
    """
    import ctypes
    import json
    import os

    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p

    class Cmp(ctypes.Structure):
        _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]

    ops = {"SCMP_CMP_NE": 1, "SCMP_CMP_EQ": 4, "SCMP_CMP_MASKED_EQ": 7}

    def action(name: str, errno_ret: int) -> int:
        return {"SCMP_ACT_ALLOW": 0x7FFF0000, "SCMP_ACT_ERRNO": 0x00050000 | (errno_ret & 0xFFFF)}[name]

    profile = json.loads(profile_text)
    default_errno = int(profile.get("defaultErrnoRet", 1))
    ctx = ctypes.c_void_p(lib.seccomp_init(action(profile["defaultAction"], default_errno)))
    if lib.seccomp_attr_set(ctx, 3, 1 if no_new_privs else 0) != 0:  # 3: SCMP_FLTATR_CTL_NNP
        raise OSError("seccomp_attr_set failed")
    for rule in profile["syscalls"]:
        args = rule.get("args", [])
        cmps = (Cmp * max(len(args), 1))(
            *[Cmp(a["index"], ops[a["op"]], a["value"], a.get("valueTwo", 0)) for a in args]
        )
        act = action(rule["action"], int(rule.get("errnoRet", default_errno)))
        for name in rule["names"]:
            number = lib.seccomp_syscall_resolve_name(name.encode())  # < 0: not a call of this architecture
            if number >= 0 and lib.seccomp_rule_add_array(ctx, act, number, len(args), cmps) != 0:
                raise OSError(f"seccomp rule for {name} refused")
    if lib.seccomp_load(ctx) != 0:
        raise OSError(ctypes.get_errno(), "seccomp_load failed (no CAP_SYS_ADMIN and no no_new_privs?)")
    os.execvp(command[0], command)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procmount", choices=("unmasked", "default"), default="unmasked")
    parser.add_argument("--no-seccomp", action="store_true")
    parser.add_argument("--user", help="UID:GID in the pod instead of root (runAsUser)")
    parser.add_argument("--rootfs", type=Path, help="an image's root filesystem to run in (a chroot)")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    if not args.no_seccomp and not seccomp_available():
        parser.error("setpriv, /usr/bin/python3 or libseccomp is missing; or pass --no-seccomp")
    seccomp = not args.no_seccomp
    return run_pod(args.command, procmount=args.procmount, seccomp=seccomp, user=args.user, rootfs=args.rootfs)


def seccomp_available() -> bool:
    """True when the emulation can load the profile: setpriv, Debian's python3 and libseccomp are here."""
    if not (os.path.exists(SYSTEM_PYTHON) and shutil.which("setpriv")):
        return False
    return ctypes.util.find_library("seccomp") is not None


if __name__ == "__main__":
    sys.exit(main())
