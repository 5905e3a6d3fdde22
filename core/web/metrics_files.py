"""prometheus-client's multiprocess sample files, with their disk blocks allocated before they
are written, and samples that give way when the disk is full.

Why our own code here: prometheus-client creates each worker's sample file with ``truncate()``
(a sparse file) and writes it through ``mmap``. On a full disk, touching a page with no block
behind it is not an error the program sees but a SIGBUS that kills the process: under gunicorn
every worker died at its first request, and every new one at its first sample, so clients got
no answer at all instead of the 507 a full disk is answered with (measured on a full tmpfs).
Allocating the blocks first (``posix_fallocate``) turns a full disk into an ``OSError``
(ENOSPC) where it can be handled: the sample is dropped, the request is still answered.
prometheus-client has no hook for this, so its file class is replaced, in its own module, by
a subclass that changes nothing else.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import time
from collections.abc import Iterator

from prometheus_client import mmap_dict
from prometheus_client import values as prometheus_values

log = logging.getLogger("govcred.metrics")

#: a dropped sample is logged at most this often (a full disk drops one per request)
WARN_EVERY_SECONDS = 60.0
_last_warning = [0.0]


def _allocate(fd: int, size: int) -> None:
    """Give the first ``size`` bytes of ``fd`` real blocks (the file grows to ``size`` if shorter)."""
    os.posix_fallocate(fd, 0, size)


class AllocatedMmapedDict(mmap_dict.MmapedDict):
    """prometheus-client's :class:`~prometheus_client.mmap_dict.MmapedDict` whose file never
    has a page without a block: created whole under a temporary name (a scrape never reads a
    half-made one) and allocated before each growth. ``OSError`` when the disk has no room."""

    def __init__(self, filename: str, read_mode: bool = False):
        if not read_mode:
            self._prepare(filename)
        super().__init__(filename, read_mode)

    @staticmethod
    def _prepare(filename: str) -> None:
        try:
            fd = os.open(filename, os.O_RDWR)
        except FileNotFoundError:
            fd = None
        if fd is not None:  # a file this process had (a reload): fill whatever holes it has
            try:
                _allocate(fd, max(os.fstat(fd).st_size, mmap_dict._INITIAL_MMAP_SIZE))
            finally:
                os.close(fd)
            return
        partial = f"{filename}.{os.getpid()}.partial"  # not *.db: the collector's glob skips it
        fd = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _allocate(fd, mmap_dict._INITIAL_MMAP_SIZE)
            os.close(fd)
            fd = None
            os.replace(partial, filename)
        except BaseException:
            if fd is not None:
                os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise

    def _init_value(self, key: str) -> None:
        encoded = len(key.encode("utf-8"))
        needed = self._used + struct.calcsize(f"i{encoded + (8 - (encoded + 4) % 8)}sdd")
        capacity = self._capacity
        while needed > capacity:  # as the parent grows it, but with the blocks taken first
            capacity *= 2
        if capacity > self._capacity:
            _allocate(self._f.fileno(), capacity)
        super()._init_value(key)


def install() -> None:
    """Make prometheus-client's multiprocess values use :class:`AllocatedMmapedDict`."""
    prometheus_values.MmapedDict = AllocatedMmapedDict


@contextlib.contextmanager
def sample_or_skip() -> Iterator[None]:
    """Record a sample if the disk lets us: a full disk (or any error writing the sample file)
    drops it, logged now and then, so that metrics never cost a request its answer."""
    try:
        yield
    except OSError as exc:
        now = time.monotonic()
        if now - _last_warning[0] >= WARN_EVERY_SECONDS:
            _last_warning[0] = now
            log.warning("metrics sample dropped (samples are dropped while this lasts): %s", exc)
