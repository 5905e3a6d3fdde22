"""Uploaded proofs (security checklist W-08, W-13): PDF, JPEG and PNG only.

The type is detected from the content -- magic bytes AND a full decode -- and the file name's
extension must agree. Images are decoded under a pixel limit (Pillow's decompression-bomb
warning is an error here) and RE-ENCODED, which drops EXIF/GPS metadata and anything
appended to the image (polyglots). PDFs are parsed by ``core/pdf_probe.py`` in a child
process with address-space and CPU limits and a wall-clock timeout, and its normalised copy
is what we keep. The stored bytes are AES-GCM encrypted with ``attachments|<id>`` as
associated data, in ``<data dir>/uploads/<uuid>`` (never under a web root), moved there only
once the row has committed (``core/upload_files.py``); the original
file name is kept only as sanitised metadata. Residents read only their own files (404
otherwise); officers read any.

Flow: a file is uploaded first (``POST /api/v1/attachments``) and its id is written into
the application document (``conditions[].attachments``); submitting the application links
the files to it. A linked file cannot be referenced by another application.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageOps

from govcred.core import upload_files
from govcred.core.accounts.officers import Principal
from govcred.core.exceptions import (
    AuthenticationRequired,
    Conflict,
    FieldError,
    GovcredError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from govcred.core.models import new_id

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.services.collaborators import Collaborators
    from govcred.core.unit_of_work import UnitOfWork

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_FILES_PER_OWNER = 20
PDF_TIMEOUT_SECONDS = 20
MAX_NAME_CHARS = 100

PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
EXTENSIONS = {PDF: (".pdf",), JPEG: (".jpg", ".jpeg"), PNG: (".png",)}
_MAGIC = ((b"%PDF-", PDF), (b"\xff\xd8\xff", JPEG), (b"\x89PNG\r\n\x1a\n", PNG))
_PROBE = Path(__file__).with_name("pdf_probe.py")


class AttachmentRejected(ValidationError):
    """The uploaded file is not an acceptable proof."""

    code = "ATTACHMENT_REJECTED"


class TooManyAttachments(GovcredError):
    """The per-owner file quota is used up."""

    code = "ATTACHMENT_QUOTA_EXCEEDED"
    http_status = 409


@dataclass(frozen=True)
class AttachmentInfo:
    id: str
    content_type: str
    size: int
    sha256: str
    original_name: str
    application_id: str | None = None


def _reject(code: str, message: str) -> AttachmentRejected:
    return AttachmentRejected([FieldError("file", code, message)], "上传的文件不符合要求")


def sanitise_name(name: str) -> str:
    """A display name only: no directories, control characters or bidi overrides; bounded."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_NAME_CHARS - len(ext) - 1] + dot + ext) if dot and len(ext) <= 8 else name[:MAX_NAME_CHARS]
    return name or "file"


def sniff(data: bytes) -> str:
    for magic, content_type in _MAGIC:
        if data.startswith(magic):
            return content_type
    raise _reject("TYPE_NOT_ALLOWED", "只接受 PDF、JPEG 或 PNG 文件")


def _normalise_image(data: bytes, content_type: str) -> bytes:
    fmt = "JPEG" if content_type == JPEG else "PNG"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise _reject("TOO_MANY_PIXELS", f"图片像素过多（上限 {MAX_PIXELS // 1_000_000} 百万像素）")
                image.load()
                image = ImageOps.exif_transpose(image)  # keep the visible orientation; the EXIF goes
                if fmt == "JPEG" and image.mode not in ("RGB", "L"):
                    image = image.convert("RGB")
                elif fmt == "PNG" and image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
                    image = image.convert("RGBA")
                out = io.BytesIO()
                image.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    except AttachmentRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _reject("TOO_MANY_PIXELS", f"图片像素过多（上限 {MAX_PIXELS // 1_000_000} 百万像素）") from None
    except (OSError, SyntaxError, ValueError, Image.UnidentifiedImageError):
        raise _reject("UNREADABLE", "图片无法解码，可能已损坏") from None
    return out.getvalue()


def _normalise_pdf(data: bytes) -> bytes:
    try:
        done = subprocess.run(
            [sys.executable, "-I", str(_PROBE)],
            input=data,
            capture_output=True,
            timeout=PDF_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _reject("PDF_TOO_COMPLEX", "PDF 文件过于复杂，无法在限定时间内检查") from None
    try:
        result = json.loads(done.stdout or b"null")
    except ValueError:
        result = None
    if not isinstance(result, dict):  # killed by a limit (memory, CPU) or crashed
        raise _reject("PDF_TOO_COMPLEX", "PDF 文件过于复杂或已损坏，无法检查")
    if not result.get("ok"):
        problems = result.get("problems") or ["UNREADABLE"]
        messages = {
            "ENCRYPTED": "不接受加密的 PDF",
            "JAVASCRIPT": "不接受含脚本的 PDF",
            "LAUNCH_ACTION": "不接受含启动操作的 PDF",
            "EMBEDDED_FILE": "不接受内嵌文件的 PDF",
            "XFA_FORM": "不接受 XFA 表单",
            "RICH_MEDIA": "不接受含多媒体的 PDF",
            "TOO_MANY_PAGES": "PDF 页数过多",
            "NO_PAGES": "PDF 没有页面",
        }
        raise AttachmentRejected(
            [FieldError("file", f"PDF_{p}", messages.get(p, "PDF 无法解析，可能已损坏")) for p in problems],
            "上传的文件不符合要求",
        )
    return base64.b64decode(result["pdf"])


def inspect(data: bytes, filename: str) -> tuple[str, bytes]:
    """The content type and the normalised bytes to keep, or :class:`AttachmentRejected`."""
    if len(data) > MAX_BYTES:
        raise _reject("TOO_LARGE", f"文件不能超过 {MAX_BYTES // (1024 * 1024)} MB")
    if not data:
        raise _reject("EMPTY", "文件为空")
    content_type = sniff(data)
    if not sanitise_name(filename).lower().endswith(EXTENSIONS[content_type]):
        raise _reject("EXTENSION_MISMATCH", "文件扩展名与文件内容不符")
    if content_type == PDF:
        return content_type, _normalise_pdf(data)
    return content_type, _normalise_image(data, content_type)


def _aad(attachment_id: str) -> bytes:
    return f"attachments|{attachment_id}".encode()


def store(deps: Collaborators, data: bytes, filename: str, *, principal: Principal | None) -> AttachmentInfo:
    """Check, normalise, encrypt and keep one upload for ``principal`` (a resident or a clerk)."""
    if principal is None:
        raise AuthenticationRequired("请先登录")
    if principal.kind == "officer" and principal.role not in ("clerk", "admin"):
        raise PermissionDenied("当前角色无权上传材料")
    content_type, clean = inspect(data, filename)
    attachment_id = new_id()
    storage_name = new_id()
    directory = Path(deps.settings.uploads_dir)
    now = deps.clock.now()
    info = AttachmentInfo(
        attachment_id, content_type, len(clean), hashlib.sha256(clean).hexdigest(), sanitise_name(filename)
    )
    with deps.uow() as uow:
        used = uow.attachments.count_uploaded_by(principal)
        if used >= MAX_FILES_PER_OWNER:
            raise TooManyAttachments(f"最多上传 {MAX_FILES_PER_OWNER} 个文件")
        # aside until the row commits: a full disk or a crash leaves no file that no row names
        upload_files.write_pending(directory, storage_name, deps.cipher.encrypt(clean, _aad(attachment_id)))
        try:
            uow.attachments.add(
                id=attachment_id,
                application_id=None,
                owner_id=principal.id if principal.kind == "resident" else None,
                uploaded_by=principal.id if principal.kind == "officer" else None,
                content_type=content_type,
                size=info.size,
                sha256=info.sha256,
                original_name=info.original_name,
                storage_name=storage_name,
                created_at=now,
            )
            uow.audit.append(
                actor=principal.audit_actor,
                role=principal.role or principal.kind,
                action="attachment.uploaded",
                object_type="attachment",
                object_id=attachment_id,
                details={"content_type": content_type, "size": info.size},
            )
            uow.commit()
        except BaseException:
            upload_files.discard(directory, storage_name)
            raise
    upload_files.publish(directory, storage_name)
    return info


def clean_orphan_files(deps: Collaborators, *, dry_run: bool = False) -> upload_files.OrphanReport:
    """Finish or remove what a crash left in the uploads directory (start-up, ``govcred purge``)."""

    def known(names):
        with deps.uow(readonly=True) as uow:
            return uow.attachments.stored_names(names)

    return upload_files.clean_orphans(Path(deps.settings.uploads_dir), known, dry_run=dry_run)


def read(deps: Collaborators, attachment_id: str, principal: Principal | None) -> tuple[AttachmentInfo, bytes]:
    """The decrypted file: its owner (resident), its uploader, or any officer; 404 for others."""
    if principal is None:
        raise AuthenticationRequired("请先登录")
    with deps.uow(readonly=True) as uow:
        row = uow.attachments.get(attachment_id, owner_id=principal.id if principal.kind == "resident" else None)
    if row is None:
        raise NotFound("未找到该文件", code="ATTACHMENT_NOT_FOUND")
    blob = (Path(deps.settings.uploads_dir) / row["storage_name"]).read_bytes()
    data = deps.cipher.decrypt(blob, _aad(row["id"]))
    return AttachmentInfo(
        row["id"], row["content_type"], row["size"], row["sha256"], row["original_name"], row["application_id"]
    ), data


def reference_problems(uow: UnitOfWork, refs: Sequence[tuple[str, str]], principal: Principal) -> list[FieldError]:
    """Every referenced attachment that does not exist, is not the caller's, or is already used."""
    if not refs:
        return []
    usable = uow.attachments.unlinked_of(sorted({ref for _path, ref in refs}), principal)
    problems = []
    seen: set[str] = set()
    for path, ref in refs:
        if ref in seen:
            problems.append(FieldError(path, "ATTACHMENT_DUPLICATE", "同一文件不能重复引用"))
        elif ref not in usable:
            problems.append(FieldError(path, "ATTACHMENT_NOT_FOUND", "未找到该材料文件，请先上传"))
        seen.add(ref)
    return problems


def link_to_application(uow: UnitOfWork, ids: Iterable[str], application_id: str) -> None:
    ids = list(ids)
    if not ids:
        return
    if uow.attachments.link(ids, application_id) != len(set(ids)):
        raise Conflict("材料文件已被其他申请使用", code="ATTACHMENT_IN_USE")


def for_application(uow: UnitOfWork, application_id: str) -> list[AttachmentInfo]:
    rows = uow.attachments.for_application(application_id)
    return [
        AttachmentInfo(r["id"], r["content_type"], r["size"], r["sha256"], r["original_name"], r["application_id"])
        for r in rows
    ]
