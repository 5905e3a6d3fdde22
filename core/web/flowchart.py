"""The flowchart of the process (attachment 2 of 青政办发〔2023〕35号) as SVG, drawn on the server.

告知承诺 → 在线填表 → 上传材料 → 确认提交 → 受理 → 审核 (2 个工作日) → 办结 / 补正 / 不予办理 →
发证 / 短信通知. The steps are data (:data:`STEPS`), so the page's text alternative and the
picture say the same; ``docs/flowchart.svg`` is this module's output (``python -m
govcred.core.web.flowchart > docs/flowchart.svg``), and a test keeps the two equal.

Drawn here rather than by a graph library: the layout is fixed (one column, one three-way
branch, one loop back), and Graphviz would add an outside program to every install for
nine boxes. ElementTree writes the XML, so every text is escaped.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from govcred.core.services.intake import WORKING_DAYS_TO_DECIDE

SVG_NS = "http://www.w3.org/2000/svg"
FONT = "'Noto Sans CJK SC', 'Noto Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif"


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    detail: str


#: the main line, in order
MAIN = (
    Step("notice", "告知承诺", "阅读告知书，承诺信息真实"),
    Step("form", "在线填表", "浙里办或网页填写，也可到窗口"),
    Step("upload", "上传材料", "住所、就业或就读证明"),
    Step("confirm", "确认提交", "核对后提交，获得办件编号"),
    Step("accept", "受理", "材料齐全即受理，出具受理回执"),
    Step("review", "审核", f"受理后 {WORKING_DAYS_TO_DECIDE} 个工作日内办结"),
)
#: the three outcomes of the review, left to right
OUTCOMES = (
    Step("return", "补正", "一次性告知所缺材料"),
    Step("approve", "办结", "符合条件，予以批准"),
    Step("refuse", "不予办理", "不符合条件，说明理由"),
)
ISSUE = Step("issue", "发证 / 短信通知", "办结的签发电子居住证，结果均短信告知")
STEPS = (*MAIN, *OUTCOMES, ISSUE)

#: one sentence for the picture's alt text and <desc>
SUMMARY = (
    "办理流程：告知承诺，在线填表，上传材料，确认提交，受理，审核（"
    f"{WORKING_DAYS_TO_DECIDE} 个工作日）；审核后办结、补正或不予办理：办结的签发电子居住证，"
    "补正的一次性告知所缺材料、补齐后重新受理，不予办理的说明理由；结果均以短信通知。"
)

WIDTH = 600
_BOX_W, _BOX_H, _GAP = 320, 60, 28
_SMALL_W = 176
_TOP = 16
_STEP = _BOX_H + _GAP
_BRANCH_Y = _TOP + len(MAIN) * _STEP + 20
_ISSUE_Y = _BRANCH_Y + _STEP
HEIGHT = _ISSUE_Y + _BOX_H + _TOP
_COLORS = {"approve": "#e6f4ea", "return": "#fff4e0", "refuse": "#fdecea", "issue": "#e6f4ea"}
_STROKE = "#5f6b7a"


# Presentation attributes, not a <style> element: the file is served under the pages'
# Content-Security-Policy, which refuses inline style sheets.
_TITLE = {"font-size": "19", "font-weight": "700", "text-anchor": "middle", "fill": "#1f2933"}
_DETAIL = {"font-size": "14", "text-anchor": "middle", "fill": "#3e4c59"}
_LABEL = {"font-size": "13", "text-anchor": "start", "fill": "#3e4c59"}
_FLOW = {"fill": "none", "stroke": _STROKE, "stroke-width": "1.8", "marker-end": "url(#head)"}


def _el(parent: ET.Element, tag: str, style: dict[str, str] | None = None, **attrs) -> ET.Element:
    values = {k.replace("_", "-"): f"{v:g}" if isinstance(v, float) else str(v) for k, v in attrs.items()}
    return ET.SubElement(parent, tag, {**values, **(style or {})})


def _box(svg: ET.Element, step: Step, cx: float, y: float, w: float) -> None:
    g = _el(svg, "g", id=f"step-{step.key}")
    fill = _COLORS.get(step.key, "#eef3fb")
    _el(g, "rect", x=cx - w / 2, y=y, width=w, height=_BOX_H, rx=10, fill=fill, stroke=_STROKE, stroke_width=1.5)
    _el(g, "text", _TITLE, x=cx, y=y + 25).text = step.title
    _el(g, "text", _DETAIL, x=cx, y=y + 47).text = step.detail


def _arrow(svg: ET.Element, points: list[tuple[float, float]], label: str = "") -> None:
    _el(svg, "polyline", _FLOW, points=" ".join(f"{x:g},{y:g}" for x, y in points))
    if label:
        (x1, y1), (x2, y2) = points[0], points[1]
        _el(svg, "text", _LABEL, x=(x1 + x2) / 2 + 6, y=(y1 + y2) / 2).text = label


def render_svg() -> str:
    """The flowchart as a standalone SVG document (UTF-8 text)."""
    cx, step, branch_y, issue_y, height = WIDTH / 2, _STEP, _BRANCH_Y, _ISSUE_Y, HEIGHT
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": f"0 0 {WIDTH} {height}",
            "width": str(WIDTH),
            "height": str(height),
            "role": "img",
            "aria-labelledby": "flow-title flow-desc",
            "font-family": FONT,
        },
    )
    ET.SubElement(svg, "title", id="flow-title").text = "青田县居住证互认转换办理流程图"
    ET.SubElement(svg, "desc", id="flow-desc").text = SUMMARY
    defs = ET.SubElement(svg, "defs")
    marker = _el(defs, "marker", id="head", viewBox="0 0 10 10", refX=9, refY=5, markerWidth=7, markerHeight=7)
    _el(marker, "path", d="M0,0 L10,5 L0,10 z", fill=_STROKE)
    for i, main in enumerate(MAIN):
        y = _TOP + i * step
        _box(svg, main, cx, y, _BOX_W)
        if i:
            _arrow(svg, [(cx, y - _GAP), (cx, y - 2)])
    review_bottom = _TOP + (len(MAIN) - 1) * step + _BOX_H
    centres = [cx - 200, cx, cx + 200]
    fork_y = review_bottom + (branch_y - review_bottom) / 2
    for outcome, ox in zip(OUTCOMES, centres, strict=True):
        _box(svg, outcome, ox, branch_y, _SMALL_W)
        _arrow(svg, [(cx, review_bottom), (cx, fork_y), (ox, fork_y), (ox, branch_y - 2)])
    _box(svg, ISSUE, cx, issue_y, _BOX_W)
    _arrow(svg, [(cx, branch_y + _BOX_H), (cx, issue_y - 2)])
    _arrow(
        svg,
        [
            (centres[2], branch_y + _BOX_H),
            (centres[2], issue_y + _BOX_H / 2),
            (cx + _BOX_W / 2 + 2, issue_y + _BOX_H / 2),
        ],
    )
    # 补正: back to 上传材料 along the left edge; accepted again afterwards
    upload_mid = _TOP + 2 * step + _BOX_H / 2
    left = centres[0] - _SMALL_W / 2 + 6
    _arrow(
        svg,
        [(left, branch_y), (left, upload_mid), (cx - _BOX_W / 2 - 2, upload_mid)],
        label="补齐材料",
    )
    ET.indent(svg)
    return ET.tostring(svg, encoding="unicode", xml_declaration=False) + "\n"


@functools.cache
def flowchart_svg() -> str:
    """:func:`render_svg`, drawn once per process."""
    return render_svg()


@dataclass(frozen=True)
class FlowchartText:
    """What the page says instead of the picture: the summary and every step in order."""

    summary: str
    main: tuple[Step, ...]
    outcomes: tuple[Step, ...]
    issue: Step
    width: int = WIDTH
    height: int = HEIGHT


def flowchart_text() -> FlowchartText:
    return FlowchartText(SUMMARY, MAIN, OUTCOMES, ISSUE)


if __name__ == "__main__":  # python -m govcred.core.web.flowchart > docs/flowchart.svg
    import sys

    sys.stdout.write(render_svg())
