"""prometheus-client's multiprocess sample files on a disk that fills up (a real full tmpfs,
tests/core/full_disk.py): a sample that finds no room is dropped, the process lives on (it was
killed by SIGBUS), and the files never have a page without a block behind it."""

from __future__ import annotations

from tests.core.full_disk import python_in_small_filesystem

_SCRIPT = """
import glob, os, sys
from pathlib import Path

root = Path(sys.argv[1])
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(root / "metrics")
(root / "metrics").mkdir()

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from govcred.core.web import request_metrics  # installs the allocated files
from govcred.core.web.metrics_files import sample_or_skip
from tests.core.full_disk import fill

hits = Counter("test_hits", "hits", ["n"])
with sample_or_skip():
    hits.labels("0").inc()
sizes = [(os.stat(f).st_size, os.stat(f).st_blocks * 512) for f in glob.glob(str(root / "metrics" / "*.db"))]
print("allocated", all(blocks >= size for size, blocks in sizes))

filler = fill(root)
for n in range(1, 2000):  # new keys need the file to grow: there is no room for it
    with sample_or_skip():
        hits.labels(str(n)).inc()
print("alive while full")

filler.unlink()
for n in range(2000):
    with sample_or_skip():
        hits.labels(str(n)).inc()
registry = CollectorRegistry()
MultiProcessCollector(registry)
text = generate_latest(registry).decode()
print("counted", sum(1 for line in text.splitlines() if line.startswith("test_hits_total{")))
print("partial files", len(glob.glob(str(root / "metrics" / "*.partial"))))
"""


def test_samples_are_dropped_not_fatal_on_a_full_disk_and_counted_again_after(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = python_in_small_filesystem(mount, "1m", _SCRIPT)
    assert done.returncode == 0, (done.returncode, done.stderr)  # -7 was SIGBUS
    assert done.stdout.splitlines() == ["allocated True", "alive while full", "counted 2000", "partial files 0"]
    assert "metrics sample dropped" in done.stderr
