"""The period's applications as files an administrator opens in a spreadsheet: CSV
(UTF-8 with a byte-order mark, so Excel shows the Chinese) and XLSX (openpyxl).

Rows come from :func:`govcred.core.services.reports.export_rows`, already masked. Cells
that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) are quoted
with a leading apostrophe: a text field must never execute (CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Font

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def csv_bytes(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows([[_safe(str(c)) for c in row] for row in rows])
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str = "申请明细") -> bytes:
    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_safe(str(c)) for c in row])
    for column, header in zip(sheet.columns, headers, strict=False):
        width = max([len(str(header)) * 2, *(len(str(c.value or "")) for c in column)])
        sheet.column_dimensions[column[0].column_letter].width = min(40, width + 2)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
