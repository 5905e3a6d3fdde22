"""QR framing, rendering and image decoding (core/qr.py) against real segno, qrcode, zxing-cpp
and Pillow."""

from __future__ import annotations

import io
import struct
import xml.etree.ElementTree as ET
import zlib

import pytest
import segno
import zxingcpp
from PIL import Image, ImageDraw, ImageFilter

from govcred.core import qr
from govcred.core.exceptions import VerificationError
from tests.core.qr_samples import typical_permit_token


@pytest.fixture(scope="module")
def token() -> str:
    return typical_permit_token()


def _detail(excinfo) -> str:
    assert excinfo.value.reason == "MALFORMED"
    return excinfo.value.detail


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


# -- framing --------------------------------------------------------------------------------


def test_payload_maps_each_character_to_two_digits(token):
    prefix, digits = qr.encode_payload(token)
    assert prefix == "GC1:/"
    assert len(digits) == 2 * len(token)
    assert digits[:4] == f"{ord(token[0]) - 45:02d}{ord(token[1]) - 45:02d}"
    assert qr.decode_payload(prefix + digits) == token  # permits issued before GC2 still read


def test_a_permit_is_written_in_the_compact_framing_and_reads_back_exactly(token):
    text = qr.payload_text(token)
    assert text.startswith("GC2:/") and text[5:].isdigit()
    assert len(text) < len(qr.PREFIX) + 2 * len(token)
    assert qr.decode_payload(text) == token
    assert qr.token_from_scan(" " + text + "\n") == token
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.render_png(token))))
    assert found.text == text and qr.decode_image(qr.render_png(token)) == token


def test_a_token_the_compact_framing_cannot_reproduce_keeps_gc1():
    # "s" as the last of 86 characters sets bits a canonical encoding leaves zero: re-encoding
    # the decoded signature would give another string, so GC2 could not carry this token
    token = "eyJhIjoxfQ.eyJiIjoyfQ." + "s" * 86
    assert qr.payload_text(token) == "".join(qr.encode_payload(token))
    assert qr.decode_payload(qr.payload_text(token)) == token


def _gc2(body: bytes) -> str:
    return "GC2:/" + str(int.from_bytes(body, "big"))


def _deflated(data: bytes) -> bytes:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    return deflater.compress(data) + deflater.flush()


@pytest.mark.parametrize(
    "text, detail",
    [
        ("GC2:/", "BAD_NUMBER"),
        ("GC2:/0123", "BAD_NUMBER"),  # one number, one text: no leading zeros
        ("GC2:/12a4", "NON_DIGIT"),
        ("GC2:/12 34", "NON_DIGIT"),
        ("GC2:/1_234", "NON_DIGIT"),  # int() would read these three
        ("GC2:/+1234", "NON_DIGIT"),
        ("GC2:/12\u0663\u0664", "NON_DIGIT"),
        ("GC2:/" + "1" * (qr.MAX_COMPACT_DIGITS + 1), "TOO_LONG"),
        (_gc2(b"\x02\x01s" + _deflated(b"{}\x00{}")), "BAD_FRAME"),  # no 0x01 lead byte
        (_gc2(b"\x01\x40" + b"s" * 10), "BAD_FRAME"),  # a 64-byte signature announced, 10 given
        (_gc2(b"\x01\x01s" + b"not deflate"), "BAD_DEFLATE"),
        (_gc2(b"\x01\x01s" + _deflated(b"{}\x00{}")[:-2]), "BAD_DEFLATE"),  # cut short
        (_gc2(b"\x01\x01s" + _deflated(b"{}{}")), "BAD_FRAME"),  # no NUL between header and payload
        (_gc2(b"\x01\x01s" + _deflated(b"\x00" * 100_000)), "TOO_LONG"),  # a deflate bomb
        (_gc2(b"\x01\x01s" + _deflated(b"{}\x00")), "NOT_JWS"),  # an empty payload segment
    ],
)
def test_compact_payload_rejects(text, detail):
    with pytest.raises(VerificationError) as excinfo:
        qr.token_from_scan(text)
    assert _detail(excinfo) == detail


def test_extreme_alphabet_characters_round_trip():
    token = "-_09AZaz.zZ-_.-"
    assert qr.encode_payload(token)[1].startswith("005003")  # '-' -> 00, '_' -> 50, '0' -> 03
    assert qr.decode_payload(qr.payload_text(token)) == token


@pytest.mark.parametrize(
    "text, detail",
    [
        ("gc1:/0101", "BAD_PREFIX"),
        ("GC3:/0101", "BAD_PREFIX"),
        ("HC1:0101", "BAD_PREFIX"),
        (" GC1:/0101", "BAD_PREFIX"),
        ("GC1:/123", "ODD_LENGTH"),
        ("GC1:/12a4", "NON_DIGIT"),
        ("GC1:/12a", "NON_DIGIT,ODD_LENGTH"),
        ("GC1:/1234\n", "NON_DIGIT,ODD_LENGTH"),
        ("GC1:/1234 ", "NON_DIGIT,ODD_LENGTH"),
        ("GC1:/12340", "ODD_LENGTH"),
        ("GC1:/12\u0663\u0664", "NON_DIGIT"),  # Arabic-Indic digits are not ASCII digits
        ("GC1:/1278", "BAD_PAIR"),  # 78 is beyond 'z'
        ("GC1:/1299", "BAD_PAIR"),
        ("GC1:/1202", "BAD_PAIR"),  # 02 is '/', in range but not base64url
        ("GC1:/", "NOT_JWS"),
        ("GC1:/1212", "NOT_JWS"),  # "AA": no dots
        ("GC1:/" + "20" * (qr.MAX_TOKEN_CHARS + 1), "TOO_LONG"),
    ],
)
def test_decode_payload_rejects(text, detail):
    with pytest.raises(VerificationError) as excinfo:
        qr.decode_payload(text)
    assert _detail(excinfo) == detail


def test_decode_payload_rejects_trailing_digits_after_a_valid_token(token):
    text = "".join(qr.encode_payload(token))
    with pytest.raises(VerificationError) as excinfo:
        qr.decode_payload(text + "01")  # a trailing "." makes a fourth, empty segment
    assert _detail(excinfo) == "NOT_JWS"


def test_token_from_scan_accepts_framed_and_bare_tokens(token):
    assert qr.token_from_scan("  " + qr.payload_text(token) + "\r\n") == token
    assert qr.token_from_scan("\n" + token + "  ") == token


@pytest.mark.parametrize(
    "text, detail",
    [
        ("", "NOT_JWS"),
        ("aaa.bbb", "NOT_JWS"),
        ("aaa.bbb.ccc.ddd", "NOT_JWS"),
        ("aaa..ccc", "NOT_JWS"),
        ("aa+a.bbb.cc/c", "NOT_JWS"),  # standard base64, not base64url
        ("aaa.bbb.ccc=", "NOT_JWS"),
        ("aaa bbb.ccc.ddd", "NOT_JWS"),
        ("gc1:/1212", "NOT_JWS"),
        ("GC1:/1278", "BAD_PAIR"),
        ("a" * 4094 + ".b.c", "TOO_LONG"),
    ],
)
def test_token_from_scan_rejects(text, detail):
    with pytest.raises(VerificationError) as excinfo:
        qr.token_from_scan(text)
    assert _detail(excinfo) == detail


def test_encoding_refuses_a_non_jws():
    with pytest.raises(VerificationError) as excinfo:
        qr.encode_payload("not a token")
    assert _detail(excinfo) == "NOT_JWS"


# -- size budget ----------------------------------------------------------------------------


def test_typical_permit_fits_the_version_budget(token):
    symbol = qr.make_qr(token)
    print(
        f"\ntypical permit: {len(token)} chars -> QR version {symbol.version} "
        f"({symbol.modules}x{symbol.modules} modules) at M, numeric mode"
    )
    assert symbol.version <= qr.VERSION_BUDGET
    assert symbol.modules == 17 + 4 * symbol.version
    assert symbol.error == "M" and symbol.mask == qr.QR_MASK


@pytest.mark.parametrize("length", [420, 425, 426, 485, 486, 531, 532, 597, 598])
def test_the_symbol_is_the_smallest_version_with_the_fixed_mask_at_the_level_asked(length):
    """Zint segments the text itself: its version is never above segno's for the byte prefix +
    numeric digits split (at each budget edge), and a reader finds mask 3 at level M."""
    body = "x" * (length - 90)
    token = f"{body[:60]}.{body[60:]}.{'s' * 86}"
    prefix, digits = qr.encode_payload(token)
    segno_version = segno.make(
        [(prefix, segno.consts.MODE_BYTE), (digits, segno.consts.MODE_NUMERIC)], error="M", boost_error=False
    ).version
    symbol = qr.make_qr(token)
    assert symbol.version <= segno_version and symbol.version >= segno_version - 1
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.render_png(token, scale=3))))
    assert found.text == qr.payload_text(token)
    assert (found.extra["DataMask"], found.extra["ECLevel"], found.extra["Version"]) == (
        qr.QR_MASK,
        "M",
        str(symbol.version),
    )


def test_numeric_mode_beats_byte_mode(token):
    numeric = qr.make_qr(token).version
    byte_mode = segno.make(token, error="M", boost_error=False, micro=False).version
    print(f"\nsame permit in plain byte mode: version {byte_mode}; numeric mode: version {numeric}")
    # one or two versions fewer, depending on where the length falls between version edges
    assert byte_mode > numeric


def test_error_level_is_honoured_and_validated(token):
    assert qr.make_qr(token, error="L").version < qr.make_qr(token, error="Q").version
    with pytest.raises(ValueError):
        qr.make_qr(token, error="X")


# -- rendering ------------------------------------------------------------------------------


def test_png_round_trip(token):
    png = qr.render_png(token)
    image = Image.open(io.BytesIO(png))
    side = (qr.make_qr(token).modules + 8) * 4
    assert image.format == "PNG" and image.size == (side, side) and image.mode == "1"
    assert qr.decode_image(png) == token


def test_png_pixels_match_the_matrix(token):
    symbol = qr.make_qr(token)
    image = Image.open(io.BytesIO(qr.render_png(token, scale=2, border=1))).convert("L")
    for row, col in [(0, 0), (0, 7), (8, 8), (symbol.modules - 1, symbol.modules - 1), (40, 33)]:
        dark = symbol.matrix[row][col]
        # module (row, col) starts at pixel (border + col) * scale
        assert image.getpixel(((1 + col) * 2 + 1, (1 + row) * 2 + 1)) == (0 if dark else 255)
    assert image.getpixel((0, 0)) == 255  # quiet zone


def test_render_geometry_is_validated(token):
    with pytest.raises(ValueError) as excinfo:
        qr.render_png(token, scale=0, border=-1)
    assert "scale" in str(excinfo.value) and "border" in str(excinfo.value)


def test_svg_is_wellformed_and_inert(token):
    svg = qr.render_svg(token, scale=3, border=2)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    side = (qr.make_qr(token).modules + 4) * 3
    assert root.get("width") == str(side) and root.get("height") == str(side)
    elements = list(root.iter())
    assert {e.tag.split("}")[1] for e in elements} == {"svg", "path"}
    for element in elements:
        for name, value in element.attrib.items():
            assert "href" not in name and not name.startswith("on")
            assert "url(" not in value and "javascript" not in value.lower()


def test_terminal_rendering(token):
    text = qr.render_terminal(token)
    lines = text.splitlines()
    modules = qr.make_qr(token).modules
    # two module rows per line (half blocks), quiet zone of 2 on each side
    assert len(lines) == (modules + 4 + 1) // 2
    assert all(len(line) == modules + 4 for line in lines)
    assert set(text) <= {"█", "▀", "▄", "\xa0", " ", "\n"} and "▀" in text


# -- decoding images ------------------------------------------------------------------------


def test_jpeg_phone_screenshot_decodes(token):
    canvas = Image.new("RGB", (1080, 1920), "white")
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, 1080, 160), fill=(30, 90, 200))
    for i, line in enumerate(["Residence permit", "Qingtian County 331121", "Show this code"]):
        draw.text((80, 220 + 60 * i), line, fill="black")
    code = Image.open(io.BytesIO(qr.render_png(token, scale=3))).convert("RGB")
    canvas.paste(code, ((1080 - code.width) // 2, 600))
    # a screenshot shared through a chat app: downscaled, then JPEG q=70 (2.5 px per module)
    shared = canvas.resize((900, 1600), Image.LANCZOS)
    assert qr.decode_image(_jpeg(shared, 70)) == token


def test_camera_like_frame_decodes(token):
    code = Image.open(io.BytesIO(qr.render_png(token, scale=5))).convert("L")
    tilted = code.rotate(4, resample=Image.BICUBIC, expand=True, fillcolor=255)
    frame = Image.new("L", (1280, 720), 170)
    frame.paste(tilted, (300, (720 - tilted.height) // 2))
    frame = frame.filter(ImageFilter.GaussianBlur(1.0))
    assert qr.decode_image(_jpeg(frame, 80)) == token


def test_bare_jws_qr_from_another_app_decodes(token):
    out = io.BytesIO()
    segno.make(token, error="L", micro=False).save(out, kind="png", scale=3)
    assert qr.decode_image(out.getvalue()) == token


def test_our_code_is_found_next_to_a_foreign_one(token):
    canvas = Image.new("L", (1200, 600), 255)
    foreign = io.BytesIO()
    segno.make("https://example.com/promo", error="M").save(foreign, kind="png", scale=6)
    canvas.paste(Image.open(foreign).convert("L"), (20, 20))
    canvas.paste(Image.open(io.BytesIO(qr.render_png(token, scale=4))).convert("L"), (500, 100))
    out = io.BytesIO()
    canvas.save(out, "PNG")
    assert qr.decode_image(out.getvalue()) == token


def test_foreign_qr_alone_is_malformed():
    out = io.BytesIO()
    segno.make("https://example.com/promo", error="M").save(out, kind="png", scale=6)
    with pytest.raises(VerificationError) as excinfo:
        qr.decode_image(out.getvalue())
    assert _detail(excinfo) == "NOT_JWS"


def test_image_without_qr():
    image = Image.new("RGB", (640, 480), "white")
    ImageDraw.Draw(image).text((50, 50), "no code here", fill="black")
    with pytest.raises(VerificationError) as excinfo:
        qr.decode_image(_jpeg(image, 85))
    assert _detail(excinfo) == "QR_NOT_FOUND"


def _png_with_declared_size(width: int, height: int) -> bytes:
    """A tiny real PNG whose IHDR claims ``width`` x ``height`` (CRC fixed up)."""
    out = io.BytesIO()
    Image.new("L", (8, 8), 255).save(out, "PNG")
    data = bytearray(out.getvalue())
    ihdr_start = 8 + 8  # signature, then the IHDR chunk's length and type
    data[ihdr_start : ihdr_start + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr_start - 4 : ihdr_start + 13]))
    data[ihdr_start + 13 : ihdr_start + 17] = struct.pack(">I", crc)
    return bytes(data)


@pytest.mark.parametrize("width, height", [(20000, 20000), (7000, 7000)])
def test_pixel_flood_is_refused_before_decoding(width, height):
    # The flood image holds only 8x8 pixels of data: had it been decoded, the answer would be
    # IMAGE_INVALID (truncated data), so IMAGE_TOO_LARGE shows the size check came first.
    # 7000x7000 (49 MP) lies under Pillow's own limit, so only our explicit check catches it.
    flood = _png_with_declared_size(width, height)
    assert struct.unpack(">II", flood[16:24]) == (width, height)
    with pytest.raises(VerificationError) as excinfo:
        qr.decode_image(flood)
    assert _detail(excinfo) == "IMAGE_TOO_LARGE"


def test_truncated_png_with_a_plausible_size_is_invalid():
    with pytest.raises(VerificationError) as excinfo:
        qr.decode_image(_png_with_declared_size(2000, 2000))
    assert _detail(excinfo) == "IMAGE_INVALID"


@pytest.mark.parametrize("kind", ["garbage", "empty", "gif", "truncated_jpeg", "not_bytes"])
def test_unreadable_images_are_invalid(token, kind):
    if kind == "gif":
        out = io.BytesIO()
        Image.open(io.BytesIO(qr.render_png(token))).save(out, "GIF")
        data = out.getvalue()  # readable by Pillow, but not a format we accept
    elif kind == "truncated_jpeg":
        data = _jpeg(Image.open(io.BytesIO(qr.render_png(token))), 80)[:600]
    else:
        data = {"garbage": b"\x89PNG\r\n\x1a\nnot really", "empty": b"", "not_bytes": "abc"}[kind]
    with pytest.raises(VerificationError) as excinfo:
        qr.decode_image(data)
    assert _detail(excinfo) == "IMAGE_INVALID"


@pytest.mark.skipif(not qr.features.check("webp"), reason="Pillow built without WebP")
def test_webp_decodes(token):
    out = io.BytesIO()
    Image.open(io.BytesIO(qr.render_png(token))).convert("L").save(out, "WEBP", quality=90)
    assert qr.decode_image(out.getvalue()) == token


def test_transparent_background_decodes(token):
    code = Image.open(io.BytesIO(qr.render_png(token))).convert("L")
    # dark modules opaque black, light modules fully transparent *black*
    rgba = Image.new("RGBA", code.size, (0, 0, 0, 0))
    rgba.putalpha(code.point(lambda v: 255 - v))
    out = io.BytesIO()
    rgba.save(out, "PNG")
    assert qr.decode_image(out.getvalue()) == token


def test_dark_mode_inverted_code_decodes(token):
    code = Image.open(io.BytesIO(qr.render_png(token))).convert("L")
    out = io.BytesIO()
    code.point(lambda v: 255 - v).save(out, "PNG")
    assert qr.decode_image(out.getvalue()) == token


def test_terminal_output_scans_back_to_the_token(token):
    # Half blocks: the upper and lower half of a character are two module rows. With inverted
    # output a drawn half is a *light* module (light text on a dark terminal).
    halves = {"█": (1, 1), "▀": (1, 0), "▄": (0, 1), "\xa0": (0, 0), " ": (0, 0)}
    lines = qr.render_terminal(token).splitlines()
    image = Image.new("L", (len(lines[0]), 2 * len(lines)), 0)
    for y, line in enumerate(lines):
        for x, char in enumerate(line):
            top, bottom = halves[char]
            image.putpixel((x, 2 * y), 255 * top)
            image.putpixel((x, 2 * y + 1), 255 * bottom)
    # Terminal rows may leave the last half-line empty (dark); pad with a light quiet zone.
    padded = Image.new("L", (image.width + 8, image.height + 8), 255)
    padded.paste(image, (4, 4))
    out = io.BytesIO()
    padded.resize((padded.width * 4, padded.height * 4), Image.NEAREST).save(out, "PNG")
    assert qr.decode_image(out.getvalue()) == token
