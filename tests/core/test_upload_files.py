"""Upload files reach their place only once their row has committed; a failed write, a failed
commit or a crash leaves no file that no row names (and start-up cleans what a crash left)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from govcred.core import attachments, upload_files
from govcred.core.orm import attachments as attachment_rows
from govcred.testing import TEST_ENV
from tests.core.workflow_helpers import png_bytes, resident

#: Uploads a large PNG under a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored): the write of
#: the upload fails half-way, as on a disk that fills up while it is written.
LIMITED_UPLOAD = textwrap.dedent("""
    import resource, signal, sys
    from govcred.core import attachments
    from govcred.testing import make_runtime, make_settings
    from tests.core.workflow_helpers import resident

    rt = make_runtime(make_settings(sys.argv[1], sys.argv[2]))
    principal = resident(rt, "13800138000")
    data = open(sys.argv[3], "rb").read()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
    try:
        attachments.store(rt.collaborators, data, "big.png", principal=principal)
    except OSError as exc:
        print("refused", exc.errno)
""")


def _files(rt) -> list[str]:
    directory = rt.settings.uploads_dir
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def _rows(rt) -> int:
    with rt.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(attachment_rows)).scalar()


def _noise_png(tmp_path):
    from PIL import Image

    image = Image.frombytes("RGB", (400, 400), os.urandom(400 * 400 * 3))  # noise: PNG cannot shrink it
    path = tmp_path / "big.png"
    image.save(path, "PNG")
    return path


def test_an_upload_that_cannot_be_written_leaves_no_partial_file(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    rt.settings.uploads_dir.mkdir(mode=0o700)
    env = {**os.environ, **TEST_ENV, "PYTHONPATH": os.getcwd()}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            LIMITED_UPLOAD,
            str(rt.settings.data_dir),
            rt.settings.database,
            str(_noise_png(tmp_path)),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.startswith("refused"), done.stderr
    assert _files(rt) == [] and _rows(rt) == 0


def test_a_commit_that_fails_leaves_no_file(sqlite_runtime):
    rt = sqlite_runtime
    principal = resident(rt, "13800138000")

    @event.listens_for(rt.engine, "commit")
    def _refuse(_conn):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        attachments.store(rt.collaborators, png_bytes(), "proof.png", principal=principal)
    event.remove(rt.engine, "commit", _refuse)
    assert _files(rt) == [] and _rows(rt) == 0
    stored = attachments.store(rt.collaborators, png_bytes(), "proof.png", principal=principal)
    assert attachments.read(rt.collaborators, stored.id, principal)[1] == png_bytes()
    assert [name.startswith(upload_files.PENDING) for name in _files(rt)] == [False]


def test_start_up_finishes_interrupted_moves_and_removes_orphans(sqlite_runtime):
    rt = sqlite_runtime
    principal = resident(rt, "13800138000")
    kept = attachments.store(rt.collaborators, png_bytes(), "proof.png", principal=principal)
    directory = rt.settings.uploads_dir
    with rt.engine.connect() as conn:
        name = conn.execute(sa.select(attachment_rows.c.storage_name)).scalar()
    # a crash after the commit, before the move: the file is still pending
    os.replace(directory / name, upload_files.pending_path(directory, name))
    (directory / "no-row").write_bytes(b"partial")  # written by an older version, never committed
    upload_files.pending_path(directory, "no-row-either").write_bytes(b"partial")
    fresh = upload_files.pending_path(directory, "being-written-now")
    fresh.write_bytes(b"x")
    old = time.time() - upload_files.GRACE.total_seconds() - 60
    for path in directory.iterdir():
        if path != fresh:
            os.utime(path, (old, old))

    planned = attachments.clean_orphan_files(rt.collaborators, dry_run=True)
    assert (planned.published, sorted(planned.removed)) == (
        [upload_files.PENDING + name],
        [upload_files.PENDING + "no-row-either", "no-row"],
    )
    assert len(_files(rt)) == 4  # a dry run touches nothing
    attachments.clean_orphan_files(rt.collaborators)
    assert sorted(_files(rt)) == sorted([name, fresh.name])  # a file in the middle of its upload stays
    assert attachments.read(rt.collaborators, kept.id, principal)[1] == png_bytes()
