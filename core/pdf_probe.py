"""Parse one uploaded PDF in a separate, resource-limited process (security checklist W-08).

Run as ``python -I core/pdf_probe.py`` with the PDF on stdin; it imports only the standard
library and pypdf (``-I``: no environment, no user site, no script directory on the path).
It limits its own address space and CPU time before reading the input, refuses encrypted
documents and anything that can act (JavaScript, launch actions, embedded files, XFA), decodes
every page's content streams, and writes a normalised copy (no bytes after the last
``%%EOF``, no incremental-update history) as base64 in one JSON line on stdout.
"""

from __future__ import annotations

import base64
import io
import json
import resource
import sys

ADDRESS_SPACE = 512 * 1024 * 1024
CPU_SECONDS = 10
MAX_PAGES = 100
MAX_OBJECTS = 50_000
#: Names that let a PDF run code, open files or carry files.
ACTIVE_NAMES = {
    "/JS": "JAVASCRIPT",
    "/JavaScript": "JAVASCRIPT",
    "/Launch": "LAUNCH_ACTION",
    "/EmbeddedFile": "EMBEDDED_FILE",
    "/EmbeddedFiles": "EMBEDDED_FILE",
    "/FileAttachment": "EMBEDDED_FILE",
    "/XFA": "XFA_FORM",
    "/RichMedia": "RICH_MEDIA",
}


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def _active_content(root) -> set[str]:
    """Walk the object graph from the catalogue; collect the kinds of active content found."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    stack = [root]
    visited = 0
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref in seen:
                continue
            seen.add(ref)
            obj = obj.get_object()
        visited += 1
        if visited > MAX_OBJECTS:
            found.add("TOO_MANY_OBJECTS")
            break
        if isinstance(obj, DictionaryObject):
            for key, value in obj.items():
                if key in ACTIVE_NAMES:
                    found.add(ACTIVE_NAMES[key])
                if isinstance(value, NameObject) and value in ACTIVE_NAMES:
                    found.add(ACTIVE_NAMES[value])
                stack.append(value)
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
    return found


def probe(data: bytes) -> dict:
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return {"ok": False, "problems": ["ENCRYPTED"]}
        pages = len(reader.pages)
        if pages == 0:
            return {"ok": False, "problems": ["NO_PAGES"]}
        if pages > MAX_PAGES:
            return {"ok": False, "problems": ["TOO_MANY_PAGES"]}
        problems = sorted(_active_content(reader.trailer["/Root"]))
        if problems:
            return {"ok": False, "problems": problems}
        for page in reader.pages:
            contents = page.get_contents()
            if contents is not None:
                contents.get_data()
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None
        out = io.BytesIO()
        writer.write(out)
    except (
        PdfReadError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        RecursionError,
        NotImplementedError,
        AssertionError,
        OSError,
    ):
        return {"ok": False, "problems": ["UNREADABLE"]}
    return {"ok": True, "pages": pages, "pdf": base64.b64encode(out.getvalue()).decode()}


def main() -> None:
    _limit()
    data = sys.stdin.buffer.read()
    try:
        result = probe(data)
    except MemoryError:
        result = {"ok": False, "problems": ["TOO_COMPLEX"]}
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
