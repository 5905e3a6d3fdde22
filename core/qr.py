"""QR framing, rendering and decoding of govcred tokens.

A credential travels in a QR code as a short prefix (a byte segment) followed by a NUMERIC
segment (3.33 bits a digit; perf-baseline.md §4). Two framings, both read everywhere (docs/qr.md):

- ``GC2:/`` (written since 2026-12): the token's three segments decoded to bytes, the header
  and payload JSON raw-DEFLATEd together (``header NUL payload``; JSON text never holds a NUL),
  behind the signature (``len(sig) sig deflated``), the whole read as one big-endian integer
  after a 0x01 byte and written in decimal. The verifier re-encodes the exact compact JWS and
  verifies that: nothing about the signature changes. A typical permit: version 13 at M
  instead of 17.
- ``GC1:/``: every base64url character of the compact JWS as two digits ``ord(c) - 45`` —
  the SMART Health Cards encoding. Permits issued before GC2 carry it, and the issuer falls
  back to it for a token GC2 cannot reproduce exactly (non-canonical base64url).

Pure functions only: no crypto (verifying the token is the verifier's job), no web framework.
Every rejection is ``VerificationError("MALFORMED", detail)``; ``detail`` lists every problem
found, comma-separated, so a log line says at once what was wrong with a scan.
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import re
import struct
import warnings
import zlib
from dataclasses import dataclass, field

import qrcode
import zxingcpp
from PIL import Image, UnidentifiedImageError, features

from govcred.core.exceptions import VerificationError
from govcred.core.tokens import DecodedJws, b64url_encode

#: Fixed ASCII prefixes with a format version (security-checklist Q-07). Case-sensitive.
PREFIX = "GC1:/"
COMPACT_PREFIX = "GC2:/"
#: Python reads at most this many digits as one int (sys.int_info.default_max_str_digits); a
#: GC2 text of 4,300 digits holds about 1,780 bytes, far more than any QR a phone can read.
MAX_COMPACT_DIGITS = 4300
#: Longest token accepted from a scan or encoded into a QR; a permit is about 600 characters.
MAX_TOKEN_CHARS = 4096
#: The issuer keeps a typical permit at or below this version at level M (DESIGN, size budget).
VERSION_BUDGET = 16
#: Mask pattern used for every symbol. Letting segno score all 8 masks is most of its 30-40 ms
#: render time (perf-baseline §5); any mask is valid QR. Evaluated once (bench/bench_qr.py, mask
#: table): on random 600-character tokens at M, blurred and JPEG'd at q=40, and shrunk to the
#: edge of readability (2.0/2.1/2.2 px/module; below that nothing decodes, at 2.6 everything
#: does), the 8 fixed masks and segno's own penalty-chosen mask each decode 65-77 % of the
#: captures (two runs), within noise of each other.
#: So a fixed mask costs no readability; 3 was marginally ahead in the first run and is kept.
#: Re-run with the zxing-cpp encoder (2026-12-02): its 8 masks decode 41-45 of 60 captures,
#: mask 3 43, segno's penalty-chosen mask 41 — still within noise of each other.
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
    """The GC1 framing of ``token``: its byte-mode prefix and numeric-mode digits."""
    problems = _jws_problems(token)
    if problems:
        raise _malformed(problems)
    return PREFIX, "".join(f"{ord(c) - 45:02d}" for c in token)


def qr_segments(token: str) -> tuple[str, str]:
    """The prefix and digits a QR of ``token`` carries: GC2 when it reproduces the token
    exactly and is shorter, else GC1."""
    prefix, digits = encode_payload(token)
    compact = _compact_digits(token)
    if compact is not None and len(compact) < len(digits):
        return COMPACT_PREFIX, compact
    return prefix, digits


def payload_text(token: str) -> str:
    """The full text a QR scanner reads for ``token``."""
    prefix, digits = qr_segments(token)
    return prefix + digits


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _compact_digits(token: str) -> str | None:
    """GC2 digits of a well-formed token, or None when they would not give back exactly
    ``token`` (a segment in non-canonical base64url, a NUL in the header) or are too long."""
    segments = token.split(".")
    try:
        header, payload, signature = (_b64url_decode(segment) for segment in segments)
    except (ValueError, binascii.Error):
        return None
    if [b64url_encode(part).decode("ascii") for part in (header, payload, signature)] != segments:
        return None
    if b"\x00" in header or len(signature) > 255:
        return None
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    body = bytes([1, len(signature)]) + signature + deflater.compress(header + b"\x00" + payload) + deflater.flush()
    digits = str(int.from_bytes(body, "big"))
    return digits if len(digits) <= MAX_COMPACT_DIGITS else None


def decode_payload(text: str) -> str:
    """Turn scanned ``GC1:/`` or ``GC2:/`` text back into the compact JWS, rejecting anything
    not exactly what :func:`payload_text` produces."""
    if not isinstance(text, str):
        raise _malformed(["BAD_PREFIX"])
    if text.startswith(COMPACT_PREFIX):
        return _decode_compact(text[len(COMPACT_PREFIX) :])
    if not text.startswith(PREFIX):
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
    if _JWS_RE.fullmatch(token) and len(token) <= MAX_TOKEN_CHARS:  # the usual case: one pass
        return token
    if not _TOKEN_CHARS_RE.fullmatch(token):
        raise _malformed(["BAD_PAIR"])
    raise _malformed(_jws_problems(token))


def _decode_compact(digits: str) -> str:
    if len(digits) > MAX_COMPACT_DIGITS:
        raise _malformed(["TOO_LONG"])
    # int() reads the digits in C and refuses anything else, except what it also accepts: a
    # sign, surrounding spaces, "_" between digits and non-ASCII digits -- ruled out first, in
    # O(1) or one memchr each (a regex over ~800 digits costs as much as the int() itself).
    if not digits.isascii() or "_" in digits or not digits[-1:].isdigit():
        raise _malformed(["NON_DIGIT" if digits else "BAD_NUMBER"])
    if not digits[0].isdigit():
        raise _malformed(["NON_DIGIT"])
    if digits[0] == "0":
        raise _malformed(["BAD_NUMBER"])
    try:
        number = int(digits)
    except ValueError:
        raise _malformed(["NON_DIGIT"]) from None
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    if len(body) < 3 or body[0] != 1 or len(body) < 2 + body[1]:
        raise _malformed(["BAD_FRAME"])
    signature, deflated = body[2 : 2 + body[1]], body[2 + body[1] :]
    # Bounded: a deflate stream that would inflate past the longest token is refused without
    # inflating it further (a decompression bomb in a QR code).
    inflater = zlib.decompressobj(-15)
    try:
        signed = inflater.decompress(deflated, MAX_TOKEN_CHARS)
    except zlib.error:
        raise _malformed(["BAD_DEFLATE"]) from None
    if inflater.unconsumed_tail:
        raise _malformed(["TOO_LONG"])
    if not inflater.eof or inflater.unused_data:
        raise _malformed(["BAD_DEFLATE"])
    header, separator, payload = signed.partition(b"\x00")
    if not separator:
        raise _malformed(["BAD_FRAME"])
    if not (header and payload and signature):  # base64url of bytes is always in the alphabet
        raise _malformed(["NOT_JWS"])
    # the text, holding the bytes too: verify_token then need not decode what was just encoded
    token = DecodedJws(header, payload, signature)
    if len(token) > MAX_TOKEN_CHARS:
        raise _malformed(["TOO_LONG"])
    return token


def token_from_scan(text: str) -> str:
    """The compact JWS in scanned or pasted text: a ``GC2:/`` or ``GC1:/`` payload, or a bare
    JWS as other apps' QR codes and copy-paste deliver it. Surrounding whitespace is ignored."""
    if not isinstance(text, str):
        raise _malformed(["NOT_TEXT"])
    text = text.strip()
    if text.startswith(PREFIX) or text.startswith(COMPACT_PREFIX):
        return decode_payload(text)
    problems = _jws_problems(text)
    if problems:
        raise _malformed(problems)
    return text


# -- building and rendering symbols ---------------------------------------------------------


@dataclass(frozen=True)
class QrSymbol:
    """A QR symbol for one token. ``modules`` is the side length without the quiet zone;
    ``pixels`` holds one byte a module, row by row (0 dark, 255 light), as zxing-cpp writes it."""

    version: int
    modules: int
    error: str
    mask: int
    pixels: bytes = field(repr=False)

    @property
    def matrix(self) -> list[list[int]]:
        """Rows of modules, 1 dark and 0 light."""
        side = self.modules
        return [[int(v < 128) for v in self.pixels[r * side : (r + 1) * side]] for r in range(side)]


def make_qr(token: str, *, error: str = "M") -> QrSymbol:
    """Build the symbol of ``token``'s QR text with the fixed mask, at exactly ``error``.

    zxing-cpp's writer (Zint) is used because it builds the symbol in C: about 0.3 ms where
    segno took 4-5 ms for a permit (bench/bench_qr.py). Zint segments the text itself, optimally
    (the byte-then-numeric split of :func:`encode_payload` or better) and does not raise the
    error level on its own, so the version is comparable to the size budget."""
    if error not in _ERROR_LEVELS:
        raise ValueError(f"error correction level must be one of {_ERROR_LEVELS}, not {error!r}")
    text = payload_text(token)
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=error, data_mask=QR_MASK)
    image = memoryview(zxingcpp.write_barcode_to_image(barcode, add_quiet_zones=False))
    side = image.shape[0]
    return QrSymbol(version=(side - 17) // 4, modules=side, error=error, mask=QR_MASK, pixels=image.tobytes())


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


#: a module's pixel byte (0 dark, 255 light) to its PNG bit as an ASCII digit (1 is white)
_PIXEL_BIT = bytes(ord("1") if v >= 128 else ord("0") for v in range(256))


def _png_of_rows(rows: list[bytes], *, scale: int, border: int) -> bytes:
    """A 1-bit greyscale PNG of module rows (one pixel byte a module, 0 dark, 255 light).

    Written by hand because the symbol is two colours: each row becomes its bits in two C-level
    passes (translate, then widen each bit to ``scale``), is packed with one int conversion and
    repeated ``scale`` times, which takes a fraction of a millisecond where segno's and Pillow's
    general-purpose writers take several."""
    side = (len(rows) + 2 * border) * scale
    width = (side + 7) // 8
    pad = b"1" * (-side % 8)
    quiet = b"1" * (border * scale)
    blank_row = b"\x00" + b"\xff" * width
    raw = [blank_row * (border * scale)]
    for row in rows:
        bits = row.translate(_PIXEL_BIT)
        if scale > 1:  # the runs of "0" hold no "1", so widening one digit then the other is exact
            bits = bits.replace(b"0", b"0" * scale).replace(b"1", b"1" * scale)
        raw.append((b"\x00" + int(quiet + bits + quiet + pad, 2).to_bytes(width, "big")) * scale)
    raw.append(blank_row * (border * scale))
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(raw), 6))
        + _png_chunk(b"IEND", b"")
    )


def matrix_to_png(matrix, *, scale: int = 4, border: int = 4) -> bytes:
    """Write a module matrix (rows of 0 = light, 1 = dark) as a 1-bit greyscale PNG."""
    _check_geometry(scale, border)
    return _png_of_rows([bytes(0 if module else 255 for module in row) for row in matrix], scale=scale, border=border)


def render_png(token: str, *, scale: int = 4, border: int = 4, error: str = "M") -> bytes:
    """The token's QR code as a black-on-white PNG, ``scale`` pixels per module."""
    _check_geometry(scale, border)
    symbol = make_qr(token, error=error)
    side, pixels = symbol.modules, symbol.pixels
    rows = [pixels[r * side : (r + 1) * side] for r in range(side)]
    return _png_of_rows(rows, scale=scale, border=border)


def render_svg(token: str, *, scale: int = 4, border: int = 4, error: str = "M") -> str:
    """The token's QR code as a standalone SVG: one path, no scripts, styles or external
    references, so it can be inlined into an HTML page. Drawn from the same symbol as the PNG
    (zxing-cpp's own SVG carries a DOCTYPE, a group and a background rectangle)."""
    _check_geometry(scale, border)
    symbol = make_qr(token, error=error)
    side = (symbol.modules + 2 * border) * scale
    runs = []
    for y, row in enumerate(symbol.matrix):
        for dark, group in itertools.groupby(enumerate(row), key=lambda cell: cell[1]):
            cells = list(group)
            if dark:
                x, width = cells[0][0], len(cells)
                runs.append(f"M{(x + border) * scale} {(y + border) * scale}h{width * scale}v{scale}h-{width * scale}z")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}" viewBox="0 0 {side} {side}">'
        f'<path fill="#fff" d="M0 0h{side}v{side}h-{side}z"/><path fill="#000" d="{"".join(runs)}"/></svg>'
    )


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
    prefix, digits = qr_segments(token)
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
