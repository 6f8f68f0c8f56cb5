"""Confining a model process: what it may read, write and reach, and how much memory it gets.

A submission is untrusted code. The harness runs it in a process that is confined before the
submission's own code is imported, with the strongest means this Linux machine offers without
root:

* **Landlock** (kernel >= 5.13, through the ``landlock`` binding): the process may read an
  allowlist only (system folders, the interpreter and ``sys.path``, its submission folder;
  :func:`readable_roots`) minus the protected roots (the data cache with the built scenes,
  the raw files, the results folder, the Hugging Face cache with its token), and may write
  only its private fold folder. Not ``/tmp``, where other folds' folders live. A Landlock
  domain also forbids ``ptrace`` of, and ``/proc/<pid>/mem`` or ``environ`` access to, any
  process outside it, so the model cannot read the harness's memory.
* **User, network, PID and mount namespaces** (unprivileged user namespaces): the model has
  no network (only a loopback interface that is down); it is PID 1 of its own PID namespace,
  so when it dies or is killed every process it started dies with it; its ``/dev/shm`` is an
  empty tmpfs of its own (no channel from fold to fold), and its ``/proc`` shows only its own
  processes where the kernel lets it mount one.
* **Resource limits**: ``RLIMIT_AS`` caps its address space and ``RLIMIT_FSIZE`` the size of
  any file it writes (``--memory-limit``).
* **No capabilities**: a model started as root (containers, CI) drops every capability, so
  file permissions bind it like any user.

Where Landlock or namespaces are missing the model still runs in a fresh process with its
inputs copied to a private folder, the data folders made unreadable (mode 000) while it runs,
the cache location withheld from its environment, and its process group (plus any orphan,
through a subreaper) killed on timeout; the record states which confinement was in force
(:class:`~geochem_bench.evaluation.records.Isolation`), and canary folds catch models that
read the data through the package's own API.

Landlock has no "deny" rule: a readable root that contains a protected one (a repository with
its ``results/`` folder) is expanded into allow rules for every sibling along the path to the
protected root (:func:`read_rules`); no maintained library does this expansion.
"""

from __future__ import annotations

import ctypes
import os
import resource
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# clone(2) flags (linux/sched.h)
_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUTS = 0x04000000
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_PR_CAPBSET_DROP = 24
# mount(2) flags (linux/mount.h)
_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_MS_NOEXEC = 0x8
_MS_REC = 0x4000
_MS_PRIVATE = 0x40000
_MS_BIND = 0x1000
# mount_setattr(2) (x86-64 and arm64 share the number), linux/mount.h and fcntl.h
_SYS_MOUNT_SETATTR = 442
_MOUNT_ATTR_RDONLY = 0x1
_AT_FDCWD = -100
_AT_RECURSIVE = 0x8000
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


@dataclass(frozen=True)
class SandboxPolicy:
    """What a model process may touch.

    Attributes:
        protected: roots the model may neither read nor write (cache, raw files, results),
            even where they lie inside a readable root.
        readable: roots the model may read: the interpreter, its libraries, the package,
            the submission folder (see :func:`readable_roots`).
        private_dir: the fold's private folder, the only place it may write (with a private
            ``/dev/shm`` where a mount namespace provides one).
        memory_limit_bytes: address-space (and largest file) limit, or None for none.
        private_shm: whether ``/dev/shm`` is a fresh tmpfs of this fold alone.
    """

    protected: tuple[str, ...]
    readable: tuple[str, ...]
    private_dir: str
    memory_limit_bytes: int | None
    private_shm: bool = False


#: System folders every Python process reads (libraries, configuration, devices, kernel
#: interfaces). /tmp is not among them: other folds' private folders live there.
SYSTEM_READABLE = (
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/bin",
    "/sbin",
    "/etc",
    "/opt",
    "/proc",
    "/sys",
    "/dev",
)


def readable_roots(submission_folder: str | None, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """What a model may read: system folders, the interpreter, ``sys.path``, its own folder.

    An allowlist, not "everything but the protected folders": a model must not find other
    data by guessing paths (an old data root, a raw mirror, other folds' temporary folders).
    """
    import sys

    import geochem_bench

    roots = [*SYSTEM_READABLE, sys.prefix, sys.base_prefix, sys.exec_prefix]
    roots += [p for p in sys.path if p and os.path.isabs(p)]
    # the package itself, and whatever editable installs map outside sys.path (setuptools'
    # editable finders keep a MAPPING of package -> source folder)
    roots.append(os.path.dirname(geochem_bench.__file__))
    for name, module in list(sys.modules.items()):
        if name.startswith("__editable__") and isinstance(getattr(module, "MAPPING", None), dict):
            roots += [str(path) for path in module.MAPPING.values()]
    if submission_folder:
        roots.append(submission_folder)
    roots += list(extra)
    unique = sorted({os.path.realpath(r) for r in roots if os.path.exists(r)})
    return tuple(unique)


@dataclass(frozen=True)
class Confined:
    """The confinement actually in force in a model process (filled in by the child)."""

    filesystem: str  # "landlock" or "none"
    network: str  # "namespace" (off), "open"
    processes: str  # "pid-namespace" or "process-group"
    memory_limit_mb: int | None


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def become_subreaper() -> None:
    """Adopt orphaned descendants, so a model's detached grandchildren can still be killed."""
    _libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def die_with_parent() -> None:
    """Get SIGKILL when the parent dies (the parent is killed on timeout)."""
    import signal

    _libc().prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def enter_namespaces() -> bool:
    """Move this (single-threaded) process into new user, network, PID, IPC and UTS namespaces.

    The user namespace maps the current uid/gid onto themselves, so file ownership and
    permission checks are unchanged. The network namespace has only a loopback interface,
    down: no network. The next child of this process becomes PID 1 of the new PID namespace.

    Returns:
        True when it worked; False where the kernel forbids unprivileged user namespaces.
    """
    uid, gid = os.getuid(), os.getgid()
    libc = _libc()
    # IPC too: SysV shared memory and message queues would otherwise outlive the fold and
    # carry one fold's training samples (another fold's held-out values) to the next
    flags = _CLONE_NEWUSER | _CLONE_NEWNET | _CLONE_NEWPID | _CLONE_NEWIPC | _CLONE_NEWUTS
    if libc.unshare(flags) != 0:
        return False
    try:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    except OSError:
        return False
    return True


def drop_capabilities() -> None:
    """Give up every capability, for good (bounding set included, so exec regains none).

    A model run as root (containers, CI) would otherwise bypass file permissions with
    CAP_DAC_OVERRIDE, and in a user namespace it holds every capability of that namespace.
    """
    libc = _libc()
    for cap in range(64):
        libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)  # fails harmlessly past the last cap

    class _Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class _Data(ctypes.Structure):
        _fields_ = [
            ("effective", ctypes.c_uint32),
            ("permitted", ctypes.c_uint32),
            ("inheritable", ctypes.c_uint32),
        ]

    header = _Header(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_Data * 2)()  # all zero: no capability left
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def limit_memory(limit_bytes: int | None) -> None:
    """Cap the address space of this process and its children, and the size of any file."""
    if limit_bytes is not None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))


def landlock_abi() -> int:
    """Landlock ABI version of the running kernel (0: not available)."""
    try:
        from landlock import landlock_abi_version
    except ImportError:
        return 0
    try:
        return int(landlock_abi_version())
    except Exception:
        return 0


def read_rules(readable: list[Path], protected: list[Path]) -> list[Path]:
    """Paths whose subtrees together cover ``readable`` except ``protected``.

    Landlock has no "deny" rule: a readable root that contains a protected one is expanded
    into its entries, down the path to the protected root; entries that are (or lead to,
    through a symlink) a protected root are left out, every other entry is kept whole.
    """
    targets = [Path(os.path.realpath(p)) for p in protected]

    def related(path: Path) -> bool:
        return any(path == t or t.is_relative_to(path) or path.is_relative_to(t) for t in targets)

    def inside(path: Path) -> bool:
        return any(path == t or path.is_relative_to(t) for t in targets)

    rules: list[Path] = []

    def visit(directory: Path) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            path = Path(entry.path)
            real = Path(os.path.realpath(path))
            if entry.is_symlink():
                if not related(real):
                    rules.append(real)
                continue
            if not related(path):
                rules.append(path)
            elif entry.is_dir(follow_symlinks=False) and path not in targets:
                visit(path)

    for root in sorted({Path(os.path.realpath(r)) for r in readable}):
        if inside(root):
            continue
        if related(root):
            visit(root)
        else:
            rules.append(root)
    return rules


def restrict_filesystem(policy: SandboxPolicy) -> None:
    """Apply the Landlock ruleset of ``policy`` to this process (irreversible).

    Raises:
        OSError: Landlock is unavailable or refused the ruleset.
    """
    from landlock import FSAccess, Ruleset

    # ioctl on devices stays allowed (GPU drivers need it); everything else is handled
    handled = FSAccess.all() & ~FSAccess.IOCTL_DEV
    read_dir = FSAccess.READ_FILE | FSAccess.READ_DIR | FSAccess.EXECUTE
    read_file = FSAccess.READ_FILE | FSAccess.EXECUTE
    protected = [Path(p) for p in policy.protected]
    if not policy.private_shm:  # a shared /dev/shm would carry data from fold to fold
        protected.append(Path("/dev/shm"))
    ruleset = Ruleset(restrict_rules=handled)
    for root in read_rules([Path(p) for p in policy.readable], protected):
        try:
            ruleset.allow(root, rules=read_dir if root.is_dir() else read_file)
        except OSError:
            continue  # vanished or unreadable entries need no rule
    writable = [policy.private_dir] + (["/dev/shm"] if policy.private_shm else [])
    for folder in writable:
        ruleset.allow(folder, rules=handled)
    for device in ("/dev/null", "/dev/zero", "/dev/full"):
        if Path(device).exists():
            ruleset.allow(device, rules=read_file | FSAccess.WRITE_FILE)
    try:
        ruleset.apply()
    finally:
        os.close(ruleset._fd)  # the binding keeps it open; the model has no use for it


def private_mounts(private_dir: str, shm_bytes: int | None) -> bool:
    """In a new mount namespace: the whole tree read-only, except this fold's own folders.

    Landlock governs opening files, not their metadata: without this a model could still
    set extended attributes, change modes or times of files it owns (a root model owns the
    host's files), a channel from fold to fold. Here every mount becomes read-only, the
    private folder is bind-mounted writable over itself, and ``/dev/shm`` is an empty tmpfs
    of this fold. Needs the capabilities a fresh user namespace grants (call after
    :func:`enter_namespaces`, before :func:`drop_capabilities`); the mounts are invisible
    outside and vanish with the namespace.

    Returns:
        Whether all of it is in place (on False the fold still runs, with ``/dev/shm``
        closed by Landlock instead).
    """
    libc = _libc()
    if libc.unshare(_CLONE_NEWNS) != 0:
        return False
    # make every mount private first, so nothing propagates back to the host
    if libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        return False
    options = f"mode=1777,size={shm_bytes}" if shm_bytes else "mode=1777"
    private = private_dir.encode()
    steps = (
        lambda: libc.mount(
            b"tmpfs", b"/dev/shm", b"tmpfs", _MS_NOSUID | _MS_NODEV, options.encode()
        ),
        lambda: libc.mount(private, private, None, _MS_BIND | _MS_REC, None),
        lambda: _set_mount_attr(libc, b"/", _MOUNT_ATTR_RDONLY, 0, recursive=True),
        lambda: _set_mount_attr(libc, private, 0, _MOUNT_ATTR_RDONLY, recursive=False),
        lambda: _set_mount_attr(libc, b"/dev/shm", 0, _MOUNT_ATTR_RDONLY, recursive=False),
    )
    return all(step() == 0 for step in steps)


def _set_mount_attr(libc: ctypes.CDLL, path: bytes, set_: int, clear: int, recursive: bool) -> int:
    """mount_setattr(2): change the flags of a mount (and its submounts, ``recursive``)."""

    class _MountAttr(ctypes.Structure):
        _fields_ = [
            ("attr_set", ctypes.c_uint64),
            ("attr_clr", ctypes.c_uint64),
            ("propagation", ctypes.c_uint64),
            ("userns_fd", ctypes.c_uint64),
        ]

    attr = _MountAttr(set_, clear, 0, 0)
    flags = _AT_RECURSIVE if recursive else 0
    result: int = libc.syscall(
        _SYS_MOUNT_SETATTR, _AT_FDCWD, path, flags, ctypes.byref(attr), ctypes.sizeof(attr)
    )
    return result


def mount_private_proc() -> bool:
    """Mount a /proc that shows only this PID namespace (call as its PID 1; may be refused).

    In a mount namespace of its own: the worker keeps seeing the host's /proc, which it
    needs to police the model's process tree.
    """
    libc = _libc()
    if libc.unshare(_CLONE_NEWNS) != 0:
        return False
    flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    return bool(libc.mount(b"proc", b"/proc", b"proc", flags, None) == 0)


@contextmanager
def hidden(folders: list[Path]) -> Iterator[None]:
    """Make ``folders`` unreadable (mode 000) for the duration of the block, then restore.

    The fallback where no Landlock exists: a model running as the same user could change the
    mode back, so this only stops the careless; canary folds and verification catch the rest.
    """
    modes: list[tuple[Path, int]] = []
    try:
        for folder in folders:
            try:
                modes.append((folder, stat.S_IMODE(folder.stat().st_mode)))
                folder.chmod(0)
            except OSError:
                continue
        yield
    finally:
        for folder, mode in reversed(modes):
            with suppress(OSError):
                folder.chmod(mode)


@lru_cache(maxsize=1)
def namespaces_available() -> bool:
    """Whether unprivileged user namespaces work here (probed once, in a fresh interpreter).

    A fresh interpreter, not a fork: unshare(CLONE_NEWUSER) needs a single-threaded process
    whose state nothing else shares.
    """
    import subprocess
    import sys

    probe = "from geochem_bench.evaluation.sandbox import enter_namespaces as e; exit(not e())"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = subprocess.run([sys.executable, "-c", probe], env=env, check=False)
    return result.returncode == 0


def describe_available() -> str:
    """One line on the confinement this machine offers (for ``geochem-bench doctor``-like use)."""
    abi = landlock_abi()
    parts = [
        f"landlock ABI {abi}" if abi else "no landlock",
        "user/network/PID namespaces" if namespaces_available() else "no user namespaces",
    ]
    return ", ".join(parts)
