"""The process flowchart (attachment 2 of 青政办发〔2023〕35号): served as SVG, valid XML
with every step's Chinese name, shown on the notice page with a text alternative, and the
copy in docs/ (the README's) is what the server draws."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from govcred.core.web import create_app
from govcred.core.web.flowchart import STEPS, render_svg
from tests.core.web.pages.test_resident_pages import login_resident

SVG = "{http://www.w3.org/2000/svg}"
REPO = Path(__file__).resolve().parents[4]
STEP_NAMES = (
    "告知承诺",
    "在线填表",
    "上传材料",
    "确认提交",
    "受理",
    "审核",
    "办结",
    "补正",
    "不予办理",
    "发证",
    "短信通知",
)


@pytest.fixture
def client(sqlite_runtime):
    return create_app(runtime=sqlite_runtime).test_client()


def _texts(svg: bytes | str) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_the_flowchart_is_served_as_valid_svg_with_every_step(client):
    r = client.get("/resident/flowchart.svg")  # no sign-in needed
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    texts = " ".join(_texts(r.data))
    for name in STEP_NAMES:
        assert name in texts, name
    assert "2 个工作日" in texts
    root = ET.fromstring(r.data)
    assert root.find(f"{SVG}title").text and "审核（2 个工作日）" in root.find(f"{SVG}desc").text
    assert root.find(f"{SVG}style") is None and b"<script" not in r.data  # nothing the page's CSP refuses


def test_the_notice_page_shows_it_with_a_text_alternative(client, sqlite_runtime):
    login_resident(client, sqlite_runtime, "13900000071")
    html = client.get("/resident/apply").get_data(as_text=True)
    assert 'src="/resident/flowchart.svg"' in html
    assert 'alt="办理流程：告知承诺，在线填表' in html
    for step in STEPS:
        assert f"<strong>{step.title}</strong>：{step.detail}" in html, step.title


def test_the_readme_copy_is_what_the_server_draws():
    committed = (REPO / "docs" / "flowchart.svg").read_text(encoding="utf-8")
    assert committed == render_svg(), "regenerate: python -m govcred.core.web.flowchart > docs/flowchart.svg"
    assert "docs/flowchart.svg" in (REPO / "README.md").read_text(encoding="utf-8")
