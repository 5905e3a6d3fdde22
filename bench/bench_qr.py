"""QR rendering and decoding of a typical permit token (core/qr.py).

Target (DESIGN.md): render a QR PNG ≤ 3 ms p50, aim ≤ 2 ms, a typical permit at version
≤ 16-M (aim 15); baselines in the same run: ``qrcode.make(token)`` saved as PNG (byte mode,
automatic mask: qrcode's default) and the previous encoder, segno with the same fixed mask.
Method: warm-up, then the median (p50) of individual calls timed with time.perf_counter.
Also printed: where the time goes, the zxing-cpp decode time, and the mask evaluation behind
``core.qr.QR_MASK`` (decode rate of each fixed mask of the shipped encoder at the
low-resolution edge, beside segno's penalty-chosen mask).
"""

from __future__ import annotations

import base64
import io
import os
import statistics
import time
from collections.abc import Callable

import qrcode
import segno
import zxingcpp
from PIL import Image, ImageFilter

from govcred.core import qr
from tests.core.qr_samples import typical_permit_token

MASK_SAMPLE_TOKENS = 20
#: Pixels per module at which fixed masks start to differ (below ~2 px nothing decodes,
#: above ~2.2 px everything does).
MASK_EDGE_PX_PER_MODULE = (2.0, 2.1, 2.2)


def p50_ms(fn: Callable[[], object], calls: int) -> float:
    for _ in range(max(3, calls // 10)):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def qrcode_default_png(token: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(token).save(out)
    return out.getvalue()


def segno_auto_mask_matrix(token: str):
    prefix, digits = qr.qr_segments(token)
    return segno.make(
        [(prefix, segno.consts.MODE_BYTE), (digits, segno.consts.MODE_NUMERIC)],
        error="M",
        boost_error=False,
        micro=False,
    )


def segno_fixed_mask_png(token: str) -> bytes:
    """The previous encoder: segno with the same segments and mask, through the same PNG writer."""
    prefix, digits = qr.qr_segments(token)
    symbol = segno.make(
        [(prefix, segno.consts.MODE_BYTE), (digits, segno.consts.MODE_NUMERIC)],
        error="M",
        boost_error=False,
        mask=qr.QR_MASK,
        micro=False,
    )
    return qr.matrix_to_png(symbol.matrix)


def zxing_png(text: str, mask: int, scale: int) -> bytes:
    """The shipped encoder's symbol for ``text`` with ``mask``, through the shipped PNG writer."""
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M", data_mask=mask)
    image = memoryview(zxingcpp.write_barcode_to_image(barcode, add_quiet_zones=False))
    side = image.shape[0]
    pixels = image.tobytes()
    matrix = [[pixels[r * side + c] < 128 for c in range(side)] for r in range(side)]
    return qr.matrix_to_png(matrix, scale=scale)


def camera_frame(token: str) -> bytes:
    code = Image.open(io.BytesIO(qr.render_png(token, scale=4))).convert("L")
    frame = Image.new("L", (1280, 720), 170)
    frame.paste(code.rotate(3, expand=True, fillcolor=255), (400, 150))
    out = io.BytesIO()
    frame.filter(ImageFilter.GaussianBlur(0.8)).save(out, "JPEG", quality=75)
    return out.getvalue()


def random_token() -> str:
    def part(n: int) -> str:
        return base64.urlsafe_b64encode(os.urandom(n)).rstrip(b"=").decode()

    return f"{part(60)}.{part(320)}.{part(64)}"  # about 600 characters, like a permit


def degrade(png: bytes, scale: int, px_per_module: float) -> Image.Image:
    image = Image.open(io.BytesIO(png)).convert("L")
    side = round(image.width * px_per_module / scale)
    small = image.resize((side, side), Image.BOX).filter(ImageFilter.GaussianBlur(0.8))
    out = io.BytesIO()
    small.save(out, "JPEG", quality=40)
    return Image.open(io.BytesIO(out.getvalue()))


def mask_decode_rates() -> dict[int | None, tuple[int, int]]:
    """For each of the 8 masks of the shipped encoder (zxing-cpp), and for segno's own
    penalty-based choice (``None``): (decoded, attempts) on the same random tokens, degraded
    the same way."""
    rates = {}
    tokens = [random_token() for _ in range(MASK_SAMPLE_TOKENS)]
    for mask in [*range(8), None]:
        decoded = attempts = 0
        for token in tokens:
            prefix, digits = qr.qr_segments(token)
            if mask is None:
                symbol = segno.make(
                    [(prefix, segno.consts.MODE_BYTE), (digits, segno.consts.MODE_NUMERIC)],
                    error="M",
                    boost_error=False,
                    micro=False,
                )
                png = qr.matrix_to_png(symbol.matrix, scale=3)
            else:
                png = zxing_png(prefix + digits, mask, 3)
            for px in MASK_EDGE_PX_PER_MODULE:
                found = zxingcpp.read_barcodes(degrade(png, 3, px), formats=zxingcpp.BarcodeFormat.QRCode)
                attempts += 1
                decoded += bool(found) and found[0].text == prefix + digits
        rates[mask] = (decoded, attempts)
    return rates


def version_of_text(text: str) -> int:
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M", data_mask=qr.QR_MASK)
    return (memoryview(zxingcpp.write_barcode_to_image(barcode, add_quiet_zones=False)).shape[0] - 17) // 4


def longest_token_at(version: int) -> int:
    """The longest token (characters) whose GC1 payload fits ``version`` at M."""
    length = 300
    while version_of_text(qr.PREFIX + "11" * (length + 1)) <= version:
        length += 1
    return length


def main() -> None:
    token = typical_permit_token()
    symbol = qr.make_qr(token)
    framing = qr.payload_text(token)[:5]
    verdict = "ok" if symbol.version <= 16 else "OVER TARGET"
    print(
        f"qr: typical permit {len(token)} chars -> version {symbol.version} at M in {framing} "
        f"({symbol.modules}x{symbol.modules} modules), mask {symbol.mask} (target <= 16, aim 15: {verdict})"
    )
    print(
        f"qr:   the same permit in GC1 (each character as 2 digits, before 2026-12): version "
        f"{version_of_text(''.join(qr.encode_payload(token)))}; longest token GC1 fits at version 16: "
        f"{longest_token_at(16)} chars, at 15: {longest_token_at(15)}"
    )

    ours = p50_ms(lambda: qr.render_png(token), 300)
    baseline = p50_ms(lambda: qrcode_default_png(token), 30)
    previous = p50_ms(lambda: segno_fixed_mask_png(token), 50)
    print(
        f"qr: render_png p50 {ours:.2f} ms vs qrcode.make(token) PNG p50 {baseline:.2f} ms "
        f"-> {baseline / ours:.1f}x faster; vs segno, same mask and PNG writer, {previous:.2f} ms "
        f"-> {previous / ours:.1f}x (target <= 3 ms, aim <= 2 ms)"
    )

    build = p50_ms(lambda: qr.make_qr(token), 300)
    side, pixels = symbol.modules, symbol.pixels
    rows = [pixels[r * side : (r + 1) * side] for r in range(side)]
    write = p50_ms(lambda: qr._png_of_rows(rows, scale=4, border=4), 500)
    auto = p50_ms(lambda: segno_auto_mask_matrix(token), 30)
    print(
        f"qr:   of which zxing-cpp symbol (fixed mask) {build:.2f} ms + PNG writer {write:.2f} ms; "
        f"segno with automatic mask search {auto:.2f} ms"
    )
    print(
        f"qr: render_svg p50 {p50_ms(lambda: qr.render_svg(token), 100):.2f} ms, "
        f"render_terminal p50 {p50_ms(lambda: qr.render_terminal(token), 20):.2f} ms"
    )

    png = qr.render_png(token)
    frame = camera_frame(token)
    assert qr.decode_image(png) == token and qr.decode_image(frame) == token
    print(
        f"qr: decode_image p50 {p50_ms(lambda: qr.decode_image(png), 100):.2f} ms "
        f"(render_png output, {len(png)} B); 1280x720 camera-like JPEG "
        f"{p50_ms(lambda: qr.decode_image(frame), 100):.2f} ms"
    )

    rates = mask_decode_rates()
    print(
        f"qr: fixed-mask evaluation, {MASK_SAMPLE_TOKENS} random 600-char tokens at "
        f"{'/'.join(map(str, MASK_EDGE_PX_PER_MODULE))} px/module, blur 0.8, JPEG q=40:"
    )
    for mask, (decoded, attempts) in rates.items():
        chosen = "  <- QR_MASK" if mask == qr.QR_MASK else ""
        name = "segno's penalty-chosen mask" if mask is None else f"mask {mask} (zxing-cpp)"
        print(f"qr:   {name}: decoded {decoded}/{attempts}{chosen}")


if __name__ == "__main__":
    main()
