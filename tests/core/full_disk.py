"""A real full disk for tests: a small tmpfs mounted in a mount namespace of the command's own
(``unshare``), so that nothing outside sees it and nothing needs cleaning up. Skips the test
where the kernel allows no such namespace."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def namespace() -> tuple[str, ...]:
    """``unshare`` for a private mount namespace (as root), or with a user namespace mapping us
    to root inside it (unprivileged)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("needs unshare (util-linux) to mount a small filesystem")
    flags = ("-m",) if os.geteuid() == 0 else ("-r", "-m")
    probe = subprocess.run(
        [unshare, *flags, "sh", "-c", 'mount -t tmpfs -o size=1m tmpfs "$0"', "/mnt"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a mount namespace here: {probe.stderr.strip()}")
    return (unshare, *flags)


def in_small_filesystem(mount: Path, size: str, *command: str) -> tuple[str, ...]:
    """``command`` (and whatever is appended to it) run with a tmpfs of ``size`` on ``mount``."""
    return (*namespace(), "sh", "-c", f'mount -t tmpfs -o size={size} tmpfs "$0" && exec "$@"', str(mount), *command)


#: where ``tests`` imports from, for a script run in the namespace
ROOT = Path(__file__).resolve().parents[2]


def python_in_small_filesystem(mount: Path, size: str, script: str) -> subprocess.CompletedProcess:
    """``script`` run by this interpreter (from the project root, its one argument the mount
    point) with a tmpfs of ``size`` on ``mount``."""
    return subprocess.run(
        in_small_filesystem(mount, size, sys.executable, "-c", script, str(mount)),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def inside(pid: int, *command: str, **kwargs) -> subprocess.CompletedProcess:
    """``command`` run in the mount namespace of process ``pid`` (one started through
    :func:`in_small_filesystem`): what it mounted is visible there only -- SQLite, which
    resolves symbolic links, cannot open a database through ``/proc/<pid>/root``."""
    flags = ("-m",) if os.geteuid() == 0 else ("-U", "-m", "--preserve-credentials")
    return subprocess.run(
        [shutil.which("nsenter") or "nsenter", "-t", str(pid), *flags, *command],
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


def fill(root: Path) -> Path:
    """Write a file in ``root`` until its filesystem has no room left; returns the file."""
    filler = root / "filler"
    # unbuffered: a buffered file keeps what a short write left over and writes it again on
    # close, which then raises ENOSPC outside the loop (or not, by where the room ran out)
    with open(filler, "wb", buffering=0) as f:
        chunk = b"\0" * (256 * 1024)
        try:
            while True:
                f.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler
