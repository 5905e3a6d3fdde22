"""QR framing, rendering and decoding of govcred tokens.

A credential travels in a QR code as ``GC1:/`` (a byte segment) followed by the compact JWS in a
NUMERIC segment, every base64url character written as two digits ``ord(c) - 45`` — the SMART
Health Cards encoding. Numeric mode packs 3.33 bits per digit, so a 600-character token needs
two QR versions fewer than in byte mode (shared/reference/perf-baseline.md §4).

Pure functions only: no crypto (verifying the token is the verifier's job), no web framework.
Every rejection is ``VerificationError("MALFORMED", detail)``; ``detail`` lists every problem
found, comma-separated, so a log line says at once what was wrong with a scan.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zlib
from dataclasses import dataclass

import qrcode
import segno
import zxingcpp
from PIL import Image, UnidentifiedImageError, features

from govcred.core.exceptions import VerificationError

#: Fixed ASCII prefix with a format version (security-checklist Q-07). Case-sensitive.
PREFIX = "GC1:/"
#: Longest token accepted from a scan or encoded into a QR; a permit is about 600 characters.
MAX_TOKEN_CHARS = 4096
#: The issuer keeps a typical permit at or below this version at level M (DESIGN, size budget).
VERSION_BUDGET = 17
#: Mask pattern used for every symbol. Letting segno score all 8 masks is most of its 30-40 ms
#: render time (perf-baseline §5); any mask is valid QR. Evaluated once (bench/bench_qr.py, mask
#: table): on random 600-character tokens at M, blurred and JPEG'd at q=40, and shrunk to the
#: edge of readability (2.0/2.1/2.2 px/module; below that nothing decodes, at 2.6 everything
#: does), the 8 fixed masks and segno's own penalty-chosen mask each decode 65-77 % of the
#: captures (two runs), within noise of each other.
#: So a fixed mask costs no readability; 3 was marginally ahead in the first run and is kept.
QR_MASK = 3
#: Images above this many pixels are refused before any pixel is decoded (pixel-flood guard).
#: Checked here rather than by lowering Pillow's process-wide ``Image.MAX_IMAGE_PIXELS``, which
#: other modules share; Pillow's own limit (warning, escalated to an error here) stays behind it.
MAX_IMAGE_PIXELS = 40_000_000

_ERROR_LEVELS = ("L", "M", "Q", "H")
_JWS_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", re.ASCII)
_DIGITS_RE = re.compile(r"[0-9]*", re.ASCII)
#: byte 16a+b (the pair "ab" read as hex) -> 10a+b+45; anything else -> NUL, which no token has
_PAIR_TABLE = bytes((10 * (v >> 4) + (v & 15) + 45) if (v >> 4) < 10 and (v & 15) < 10 else 0 for v in range(256))
# What a pair may decode to: the characters of a compact JWS (base64url and the dot). The pair
# of any other character is rejected even when it lies within 00..77 (e.g. 02 would be "/").
_TOKEN_CHARS_RE = re.compile(r"[A-Za-z0-9_.\-]*")
_IMAGE_FORMATS = ("PNG", "JPEG", "WEBP") if features.check("webp") else ("PNG", "JPEG")


def _malformed(problems: list[str]) -> VerificationError:
    return VerificationError("MALFORMED", ",".join(problems))


def _jws_problems(text: str) -> list[str]:
    problems = []
    if len(text) > MAX_TOKEN_CHARS:
        problems.append("TOO_LONG")
    elif not _JWS_RE.fullmatch(text):
        problems.append("NOT_JWS")
    return problems


# -- payload framing ------------------------------------------------------------------------


def encode_payload(token: str) -> tuple[str, str]:
    """Split the QR content for ``token`` into its byte-mode prefix and numeric-mode digits."""
    problems = _jws_problems(token)
    if problems:
        raise _malformed(problems)
    return PREFIX, "".join(f"{ord(c) - 45:02d}" for c in token)


def payload_text(token: str) -> str:
    """The full text a QR scanner reads for ``token``."""
    prefix, digits = encode_payload(token)
    return prefix + digits


def decode_payload(text: str) -> str:
    """Turn scanned ``GC1:/`` text back into the compact JWS, rejecting anything not exactly
    what :func:`payload_text` produces."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise _malformed(["BAD_PREFIX"])
    digits = text[len(PREFIX) :]
    # Checked first and alone: an oversized scan is rejected before it is walked.
    if len(digits) > 2 * MAX_TOKEN_CHARS:
        raise _malformed(["TOO_LONG"])
    problems = []
    if not _DIGITS_RE.fullmatch(digits):
        problems.append("NON_DIGIT")
    if len(digits) % 2:
        problems.append("ODD_LENGTH")
    if problems:
        raise _malformed(problems)
    # Pairs to characters entirely in C (this sits on the verifier's hot path): read the
    # decimal pairs as hex bytes (pair "ab" -> 16a+b) and translate each to chr(10a+b+45).
    token = bytes.fromhex(digits).translate(_PAIR_TABLE).decode("latin-1")
    if not _TOKEN_CHARS_RE.fullmatch(token):
        raise _malformed(["BAD_PAIR"])
    problems = _jws_problems(token)
    if problems:
        raise _malformed(problems)
    return token


def token_from_scan(text: str) -> str:
    """The compact JWS in scanned or pasted text: a ``GC1:/`` payload, or a bare JWS as other
    apps' QR codes and copy-paste deliver it. Surrounding whitespace is ignored."""
    if not isinstance(text, str):
        raise _malformed(["NOT_TEXT"])
    text = text.strip()
    if text.startswith(PREFIX):
        return decode_payload(text)
    problems = _jws_problems(text)
    if problems:
        raise _malformed(problems)
    return text


# -- building and rendering symbols ---------------------------------------------------------


@dataclass(frozen=True)
class QrSymbol:
    """A QR symbol for one token. ``modules`` is the side length without the quiet zone."""

    version: int
    modules: int
    error: str
    mask: int
    qr: segno.QRCode


def make_qr(token: str, *, error: str = "M") -> QrSymbol:
    """Build the two-segment symbol (byte prefix + numeric digits) with the fixed mask.

    ``boost_error`` is off so the level is exactly the one asked for and the version stays
    comparable to the size budget."""
    if error not in _ERROR_LEVELS:
        raise ValueError(f"error correction level must be one of {_ERROR_LEVELS}, not {error!r}")
    prefix, digits = encode_payload(token)
    qr = segno.make(
        [(prefix, segno.consts.MODE_BYTE), (digits, segno.consts.MODE_NUMERIC)],
        error=error,
        boost_error=False,
        mask=QR_MASK,
        micro=False,
    )
    return QrSymbol(version=qr.version, modules=qr.symbol_size(scale=1, border=0)[0], error=error, mask=qr.mask, qr=qr)


def _check_geometry(scale: int, border: int) -> None:
    problems = []
    if not isinstance(scale, int) or isinstance(scale, bool) or not 1 <= scale <= 64:
        problems.append(f"scale must be an integer 1..64, not {scale!r}")
    if not isinstance(border, int) or isinstance(border, bool) or not 0 <= border <= 64:
        problems.append(f"border must be an integer 0..64, not {border!r}")
    if problems:
        raise ValueError("; ".join(problems))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def matrix_to_png(matrix, *, scale: int = 4, border: int = 4) -> bytes:
    """Write a module matrix (rows of 0 = light, 1 = dark) as a 1-bit greyscale PNG.

    Written by hand because the symbol is two colours: each scaled row is packed straight into
    bits and identical rows are repeated, which takes well under a millisecond where segno's
    and Pillow's general-purpose writers take several."""
    _check_geometry(scale, border)
    side = (len(matrix) + 2 * border) * scale
    pad_bits = -side % 8
    # In a greyscale PNG bit 1 is white, so a light module (0) becomes a run of ones.
    light_run, dark_run = "1" * scale, "0" * scale
    quiet = "1" * (border * scale)
    blank_row = b"\x00" + b"\xff" * ((side + 7) // 8)
    raw = [blank_row * (border * scale)]
    for row in matrix:
        bits = quiet + "".join(dark_run if module else light_run for module in row) + quiet
        packed = b"\x00" + int(bits + "1" * pad_bits, 2).to_bytes((side + 7) // 8, "big")
        raw.append(packed * scale)
    raw.append(blank_row * (border * scale))
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(raw), 6))
        + _png_chunk(b"IEND", b"")
    )


def render_png(token: str, *, scale: int = 4, border: int = 4, error: str = "M") -> bytes:
    """The token's QR code as a black-on-white PNG, ``scale`` pixels per module."""
    _check_geometry(scale, border)
    return matrix_to_png(make_qr(token, error=error).qr.matrix, scale=scale, border=border)


def render_svg(token: str, *, scale: int = 4, border: int = 4, error: str = "M") -> str:
    """The token's QR code as a standalone SVG: one path, no scripts, styles or external
    references, so it can be inlined into an HTML page."""
    _check_geometry(scale, border)
    out = io.BytesIO()
    make_qr(token, error=error).qr.save(
        out, kind="svg", scale=scale, border=border, xmldecl=False, svgclass=None, lineclass=None, omitsize=False
    )
    return out.getvalue().decode("ascii")


def render_terminal(token: str, *, error: str = "M") -> str:
    """The token's QR code as text (half-block characters) for a terminal, using ``qrcode``."""
    levels = {
        "L": qrcode.ERROR_CORRECT_L,
        "M": qrcode.ERROR_CORRECT_M,
        "Q": qrcode.ERROR_CORRECT_Q,
        "H": qrcode.ERROR_CORRECT_H,
    }
    if error not in levels:
        raise ValueError(f"error correction level must be one of {_ERROR_LEVELS}, not {error!r}")
    prefix, digits = encode_payload(token)
    qr = qrcode.QRCode(error_correction=levels[error], border=2, mask_pattern=QR_MASK)
    qr.add_data(qrcode.util.QRData(prefix.encode("ascii"), mode=qrcode.util.MODE_8BIT_BYTE))
    qr.add_data(qrcode.util.QRData(digits, mode=qrcode.util.MODE_NUMBER))
    out = io.StringIO()
    # invert: terminals usually draw light text on dark; inverted blocks keep the code dark-on-light.
    qr.print_ascii(out=out, invert=True)
    return out.getvalue()


# -- decoding images ------------------------------------------------------------------------


def _load_image(data: bytes) -> Image.Image:
    if not isinstance(data, (bytes, bytearray, memoryview)) or not data:
        raise _malformed(["IMAGE_INVALID"])
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; treat the warning as fatal.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(bytes(data)), formats=_IMAGE_FORMATS)
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise _malformed(["IMAGE_TOO_LARGE"])
            image.load()
        except VerificationError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _malformed(["IMAGE_TOO_LARGE"]) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error):
            raise _malformed(["IMAGE_INVALID"]) from None
    return image


def _to_gray(image: Image.Image) -> Image.Image:
    # A QR exported with a transparent background stores its light modules as transparent
    # (often transparent black); flattening onto white keeps them light.
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return image.convert("L")


def decode_image(data: bytes) -> str:
    """The token in a photo or screenshot of a QR code (PNG, JPEG, or WebP where available).

    Only QR codes are looked for: restricting zxing-cpp's formats is about 9x faster and means
    a product barcode in the same frame is never mistaken for a credential."""
    gray = _to_gray(_load_image(data))
    results = zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode, try_rotate=True)
    found = [r for r in results if r.valid]
    if not found:
        raise _malformed(["QR_NOT_FOUND"])
    first_error = None
    for result in found:
        try:
            return token_from_scan(result.text)
        except VerificationError as exc:
            first_error = first_error or exc
    raise first_error
