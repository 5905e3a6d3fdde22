"""An A4 document in Chinese: title, labelled rows, boxes to sign, a QR code (fpdf2)."""

from __future__ import annotations

import io
import logging

import qrcode
from fpdf import FPDF

from govcred.core.pdf.fonts import cjk_font

FONT = "cjk"

# Subsetting the packaged CJK fonts drops their bitmap strikes (wqy-zenhei's BDF table), which
# fontTools reports as an English warning on every PDF ("BDF NOT subset; don't know how to
# subset; dropped") -- on the console of `govcred application receipt`, in the server's log
# for every receipt downloaded. The PDF only uses the outlines: nothing is lost.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


class A4(FPDF):
    """A4 portrait, 18 mm margins, the CJK font embedded (subset)."""

    def __init__(self, title: str):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        path, index = cjk_font()
        self.add_font(FONT, fname=str(path), collection_font_number=index)
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(True, margin=18)
        self.set_title(title)
        self.set_creator("govcred")
        self.add_page()
        self.set_font(FONT, size=18)
        self.cell(0, 12, title, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font(FONT, size=13)
        self.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")

    def row(self, label: str, value: str, *, label_width: float = 42) -> None:
        """One labelled line in a ruled table (the value wraps)."""
        self.set_font(FONT, size=11)
        y = self.get_y()
        self.multi_cell(label_width, 8, label, border=1, new_x="RIGHT", new_y="TOP")
        self.multi_cell(0, 8, value or " ", border=1, align="L", new_x="LMARGIN", new_y="NEXT")
        self.set_y(max(self.get_y(), y + 8))

    def text_block(self, text: str, size: int = 10) -> None:
        self.set_font(FONT, size=size)
        self.multi_cell(0, 6, text, align="L", new_x="LMARGIN", new_y="NEXT")

    def sign_boxes(self, *labels: str) -> None:
        """Boxes for a signature and its date, side by side."""
        self.ln(4)
        self.set_font(FONT, size=11)
        width = (self.w - self.l_margin - self.r_margin) / len(labels)
        y = self.get_y()
        for i, label in enumerate(labels):
            x = self.l_margin + i * width
            self.rect(x, y, width - 4, 24)
            self.set_xy(x + 2, y + 2)
            self.cell(width - 8, 6, label)
        self.set_xy(self.l_margin, y + 28)

    def qr(self, text: str, caption: str, size: float = 36) -> None:
        image = qrcode.make(text, border=2)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        y = self.get_y()
        self.image(buffer, x=self.w - self.r_margin - size, y=y, w=size, h=size)
        self.set_font(FONT, size=9)
        self.set_xy(self.w - self.r_margin - size - 4, y + size)
        self.multi_cell(size + 8, 5, caption, align="C")

    def bytes(self) -> bytes:
        return bytes(self.output())
