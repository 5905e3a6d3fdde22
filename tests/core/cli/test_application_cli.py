"""`govcred application receipt|show`: the 受理回执 as a PDF whose text holds the reference,
the masked ID and the deadline (read back with pypdf, rendered with pdftoppm for the
screenshots folder), and the application as JSON."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest

from govcred.core.reference import reference_of
from govcred.core.services import intake
from tests.core.workflow_helpers import APPLICANT_ID, document, import_records, resident, upload

SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"


def accepted(rt):
    import_records(rt)
    holder = resident(rt, "13900000061")
    return intake.submit_application(
        rt.collaborators, document([upload(rt, holder, name="租赁合同.png")]), principal=holder, channel="online"
    )


def pdf_text(path: Path) -> str:
    """The text, with the line breaks of wrapped table cells taken out."""
    return "".join(page.extract_text() for page in pypdf.PdfReader(path).pages).replace("\n", "")


def test_the_receipt_holds_the_reference_the_masked_id_and_the_deadline(runtime, govcred_cli, tmp_path):
    app = accepted(runtime)
    out = tmp_path / "receipt.pdf"
    result = govcred_cli("application", "receipt", app.id, "--out", out)
    assert result.exit_code == 0, result.output
    text = pdf_text(out)
    assert reference_of(app.id) in text
    assert app.subject_id_masked in text and APPLICANT_ID not in text
    assert "2026年12月2日（含）前" in text and "2个工作日内作出决定" in text.replace(" ", "")
    assert "租赁合同.png" in text and "受理回执" in text
    reader = pypdf.PdfReader(out)
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=1)  # A4
    fonts = str(reader.pages[0]["/Resources"]["/Font"])
    assert "/F" in fonts  # the CJK font travels with the file
    if shutil.which("pdftoppm"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-singlefile", str(out), str(SCREENSHOTS / "60-receipt")], check=True
        )
        assert (SCREENSHOTS / "60-receipt.png").stat().st_size > 10_000


def test_show_json_names_state_reference_deadline_and_findings(runtime, govcred_cli):
    app = accepted(runtime)
    result = govcred_cli("application", "show", app.id, "--json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    assert view["state"] == "accepted" and view["reference"] == reference_of(app.id)
    assert view["deadline"].startswith("2026-12-02") and view["findings"] == []
    assert view["subject"]["id_number"] == app.subject_id_masked
    # the text form says the deadline as the receipt does (it printed the UTC instant)
    text = govcred_cli("application", "show", app.id).output
    assert f"{reference_of(app.id)}  accepted  期限 2026年12月2日（含）前" in text


def test_no_receipt_before_acceptance_and_unknown_ids_are_named(runtime, govcred_cli, tmp_path):
    # (govcred's main() prints such errors as "错误 [CODE]: ..." with exit 1; the test runner
    # hands over the exception itself)
    result = govcred_cli("application", "show", "no-such-id", "--json")
    assert result.exit_code != 0 and "未找到该申请" in str(result.exception)
    import_records(runtime)
    holder = resident(runtime, "13900000062")
    pending = intake.submit_application(runtime.collaborators, document([]), principal=holder, channel="online")
    result = govcred_cli("application", "receipt", pending.id, "--out", tmp_path / "r.pdf")
    assert result.exit_code != 0 and "尚未受理" in str(result.exception)


def test_writing_a_pdf_prints_no_font_library_warnings(runtime, govcred_cli, tmp_path, caplog):
    """fontTools' English "BDF NOT subset; don't know how to subset; dropped" (the packaged font's
    bitmap strikes, which the PDF does not use) reached the console and the server's log."""
    caplog.set_level(logging.DEBUG)
    result = govcred_cli("application", "form", "--out", tmp_path / "blank.pdf")
    assert result.exit_code == 0, result.output
    noise = [r.getMessage() for r in caplog.records if r.name.startswith("fontTools") and r.levelno >= logging.WARNING]
    assert noise == []
    assert "NOT subset" not in result.output


def test_the_form_blank_and_prefilled_with_signature_boxes(runtime, govcred_cli, tmp_path):
    blank = tmp_path / "blank.pdf"
    result = govcred_cli("application", "form", "--out", blank)
    assert result.exit_code == 0, result.output
    text = pdf_text(blank)
    assert "互认转换申请表" in text and "申请人（代办人）签名" in text and "日期" in text
    app = accepted(runtime)
    filled = tmp_path / "filled.pdf"
    result = govcred_cli("application", "form", app.id, "--out", filled)
    assert result.exit_code == 0, result.output
    text = pdf_text(filled)
    assert reference_of(app.id) in text and app.subject_id_masked in text and APPLICANT_ID not in text
    assert "2026年12月2日（含）前" in text and app.document["applicant"]["name"] in text
    if shutil.which("pdftoppm"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name, path in (("61-form-prefilled", filled), ("62-form-blank", blank)):
            subprocess.run(
                ["pdftoppm", "-png", "-r", "80", "-singlefile", str(path), str(SCREENSHOTS / name)], check=True
            )
