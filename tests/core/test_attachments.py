"""Uploaded proofs: type by content, full decode, re-encoding, PDF checks in a child process,
encryption at rest, owner-scoped reads, quota."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter

from govcred.core import attachments
from govcred.core.exceptions import NotFound, ValidationError
from tests.core.workflow_helpers import officer, png_bytes, resident


@pytest.fixture
def alice(sqlite_runtime):
    return resident(sqlite_runtime, "13800138000")


def _codes(exc_info) -> set[str]:
    return {e.code for e in exc_info.value.errors}


def _store(rt, who, data, name):
    return attachments.store(rt.collaborators, data, name, principal=who)


def _stored_files(rt) -> list[Path]:
    """Every file under the uploads directory (none when it was never created)."""
    return sorted(p for p in Path(rt.settings.uploads_dir).rglob("*") if p.is_file())


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), "blue")
    exif = Image.Exif()
    exif[0x010F] = "CanonCanaryMaker"  # Make
    gps = {1: "N", 2: (30.0, 9.0, 0.0), 3: "E", 4: (120.0, 5.0, 0.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _pdf(*, javascript=False, encrypt=False, attachment=False) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if javascript:
        from pypdf.generic import DictionaryObject, NameObject, TextStringObject

        writer.root_object[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('x');")}
        )
    if attachment:
        writer.add_attachment("evil.exe", b"MZ payload")
    if encrypt:
        writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_png_is_reencoded_encrypted_at_rest_and_owner_scoped(sqlite_runtime, alice):
    rt = sqlite_runtime
    info = _store(rt, alice, png_bytes(), "证明.png")
    assert info.content_type == "image/png" and info.original_name == "证明.png"
    (stored,) = list(Path(rt.settings.uploads_dir).iterdir())
    assert stored.name != info.id and not stored.read_bytes().startswith(b"\x89PNG")
    meta, data = attachments.read(rt.collaborators, info.id, alice)
    assert data.startswith(b"\x89PNG") and Image.open(io.BytesIO(data)).size == (64, 48)
    bob = resident(rt, "13900139000")
    with pytest.raises(NotFound):
        attachments.read(rt.collaborators, info.id, bob)
    assert attachments.read(rt.collaborators, info.id, officer(rt, "reviewer", "r1"))[1] == data


def test_exif_and_gps_are_stripped(sqlite_runtime, alice):
    raw = _jpeg_with_gps()
    assert b"CanonCanaryMaker" in raw
    info = _store(sqlite_runtime, alice, raw, "photo.JPG")
    _, data = attachments.read(sqlite_runtime.collaborators, info.id, alice)
    assert info.content_type == "image/jpeg" and b"CanonCanaryMaker" not in data
    assert dict(Image.open(io.BytesIO(data)).getexif()) == {}


def test_polyglot_tails_are_dropped(sqlite_runtime, alice):
    tail = b"<html><script>alert(1)</script></html>PK\x03\x04zipzip"
    info = _store(sqlite_runtime, alice, png_bytes() + tail, "a.png")
    assert b"<script>" not in attachments.read(sqlite_runtime.collaborators, info.id, alice)[1]
    pdf_info = _store(sqlite_runtime, alice, _pdf() + tail, "a.pdf")
    pdf = attachments.read(sqlite_runtime.collaborators, pdf_info.id, alice)[1]
    assert pdf.startswith(b"%PDF-") and b"<script>" not in pdf


def test_pixel_flood_is_refused(sqlite_runtime, alice):
    out = io.BytesIO()
    Image.new("1", (10_000, 5_000)).save(out, "PNG")  # 50 MP in a few kB
    with pytest.raises(ValidationError) as caught:
        _store(sqlite_runtime, alice, out.getvalue(), "flood.png")
    assert _codes(caught) == {"TOO_MANY_PIXELS"}


@pytest.mark.parametrize(
    "data,name,code",
    [
        (png_bytes(), "proof.pdf", "EXTENSION_MISMATCH"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "x.png", "TYPE_NOT_ALLOWED"),
        (b"<html><body>hi</body></html>", "x.pdf", "TYPE_NOT_ALLOWED"),
        (b"PK\x03\x04" + b"\0" * 100, "x.png", "TYPE_NOT_ALLOWED"),
        (png_bytes()[:40], "cut.png", "UNREADABLE"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 50, "cut.jpg", "UNREADABLE"),
        (b"", "empty.png", "EMPTY"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * (attachments.MAX_BYTES + 1), "big.png", "TOO_LARGE"),
    ],
)
def test_refused_uploads(sqlite_runtime, alice, data, name, code):
    with pytest.raises(ValidationError) as caught:
        _store(sqlite_runtime, alice, data, name)
    assert _codes(caught) == {code}
    assert _stored_files(sqlite_runtime) == []


@pytest.mark.parametrize(
    "kwargs,code",
    [
        ({"javascript": True}, "PDF_JAVASCRIPT"),
        ({"encrypt": True}, "PDF_ENCRYPTED"),
        ({"attachment": True}, "PDF_EMBEDDED_FILE"),
    ],
)
def test_dangerous_pdfs_are_refused(sqlite_runtime, alice, kwargs, code):
    with pytest.raises(ValidationError) as caught:
        _store(sqlite_runtime, alice, _pdf(**kwargs), "doc.pdf")
    assert code in _codes(caught)


def test_garbage_pdf_is_refused(sqlite_runtime, alice):
    with pytest.raises(ValidationError) as caught:
        _store(sqlite_runtime, alice, b"%PDF-1.7\n" + b"\x00garbage" * 100, "doc.pdf")
    assert _codes(caught) & {"PDF_UNREADABLE", "PDF_NO_PAGES"}


def test_quota_per_owner(sqlite_runtime, alice):
    for _ in range(attachments.MAX_FILES_PER_OWNER):
        _store(sqlite_runtime, alice, png_bytes(), "p.png")
    with pytest.raises(attachments.TooManyAttachments):
        _store(sqlite_runtime, alice, png_bytes(), "p.png")
    assert len(list(Path(sqlite_runtime.settings.uploads_dir).iterdir())) == attachments.MAX_FILES_PER_OWNER


def test_names_are_display_metadata_only():
    assert attachments.sanitise_name("../../etc/passwd") == "passwd"
    assert attachments.sanitise_name("C:\\x\\..\\合同\u202egnp.pdf") == "合同gnp.pdf"
    assert attachments.sanitise_name("\x00") == "file"
    assert len(attachments.sanitise_name("长" * 300 + ".pdf")) == attachments.MAX_NAME_CHARS


def test_only_intake_roles_upload(sqlite_runtime):
    from govcred.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        _store(sqlite_runtime, officer(sqlite_runtime, "reviewer", "r1"), png_bytes(), "p.png")


def test_flatedecode_bomb_is_refused(sqlite_runtime, alice):
    """A 400 kB PDF whose page content inflates to 300 MB: the child process gives up, nothing is kept."""
    import zlib

    from pypdf.generic import NameObject, NumberObject, StreamObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=200, height=200)
    stream = StreamObject()
    stream._data = zlib.compress(b"0 0 m\n" * 50_000_000, 9)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    stream[NameObject("/Length")] = NumberObject(len(stream._data))
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(ValidationError) as caught:
        _store(sqlite_runtime, alice, out.getvalue(), "bomb.pdf")
    assert _codes(caught) == {"PDF_TOO_COMPLEX"}
    assert _stored_files(sqlite_runtime) == []
