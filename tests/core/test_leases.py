"""Leader leases on SQLite (an flock per job under ``<data dir>/locks/``) on a disk that fills up."""

from __future__ import annotations

from tests.core.full_disk import python_in_small_filesystem

_ON_A_FULL_DISK = """
import sys
from pathlib import Path

import sqlalchemy as sa

from govcred.core.leases import Lease
from tests.core.full_disk import fill

root = Path(sys.argv[1])
engine = sa.create_engine(f"sqlite:///{root / 'govcred.sqlite3'}")
(root / "locks").mkdir()
filler = fill(root)
try:
    Lease(engine, root, "lifecycle-sweep").acquire()
    print("acquired while full")
except OSError as exc:
    print("refused while full:", exc.strerror)
filler.unlink()
print("after space was freed:", Lease(engine, root, "lifecycle-sweep").acquire())
"""


def test_a_lease_refused_on_a_full_disk_is_not_held_afterwards(tmp_path):
    # the holder's name could not be written: the lease must not stay locked by a descriptor
    # nobody holds, or the job would never run again in any process
    mount = tmp_path / "disk"
    mount.mkdir()
    done = python_in_small_filesystem(mount, "64k", _ON_A_FULL_DISK)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["refused while full: No space left on device", "after space was freed: True"]
