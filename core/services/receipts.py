"""受理回执: what an applicant gets when an application is accepted (a receipt on acceptance:
浙江省流动人口居住登记条例 art. 18) -- the 办件编号, what was received, the deadline in working
days and a QR code to look up progress. One A4 PDF, downloaded by the resident or printed by
the clerk; the same bytes whoever asks.
"""

from __future__ import annotations

from govcred.core import attachments as attachment_store
from govcred.core.accounts.officers import Principal
from govcred.core.clock import BEIJING
from govcred.core.exceptions import Conflict
from govcred.core.pdf.page import A4
from govcred.core.reference import reference_of
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.intake import WORKING_DAYS_TO_DECIDE, get_application
from govcred.core.services.returns import RESTART_BASIS, rounds_of

CHANNEL_ZH = {"online": "网上申请", "window": "窗口受理"}


def date_zh(moment) -> str:
    day = moment.astimezone(BEIJING)
    return f"{day.year}年{day.month}月{day.day}日"


def _time_zh(moment) -> str:
    return f"{date_zh(moment)} {moment.astimezone(BEIJING):%H:%M}"


def progress_url(deps: Collaborators, application_id: str) -> str:
    """Where the receipt's QR code leads: the public progress look-up (no account needed),
    its 办件编号 filled in; absolute, from the issuer URL, since it is scanned off paper."""
    reference = reference_of(application_id).replace("-", "")
    return f"{deps.settings.issuer.rstrip('/')}/progress?ref={reference}"


def receipt_pdf(deps: Collaborators, app_id: str, principal: Principal | None) -> bytes:
    """The receipt of an accepted application, for its owner or an officer (others: 404)."""
    app, _decision = get_application(deps, app_id, principal)
    if app.accepted_at is None:
        raise Conflict("该申请尚未受理（材料不齐全），暂无受理回执", code="NOT_ACCEPTED")
    with deps.uow(readonly=True) as uow:
        files = attachment_store.for_application(uow, app.id)
    credential_type = deps.credential_types[app.schema]
    reference = reference_of(app.id)

    page = A4("受理回执")
    page.text_block(f"申请事项：{credential_type.display_name}申领　　办件编号：{reference}", size=12)
    page.heading("申请人")
    page.row("办件编号", reference)
    page.row("申请人", app.subject_name_masked)
    page.row("公民身份号码", app.subject_id_masked)
    page.row("申请渠道", CHANNEL_ZH.get(app.channel, app.channel))
    page.row("提交时间", _time_zh(app.submitted_at) if app.submitted_at else "")
    page.row("受理时间", _time_zh(app.accepted_at))
    page.heading("已收材料")
    if files:
        for i, f in enumerate(files, start=1):
            page.row(f"材料 {i}", f"{f.original_name}（{max(1, round(f.size / 1024))} KB）")
    else:
        page.row("材料", "无电子材料（窗口核验纸质材料）")
    page.heading("办结期限")
    due = ""
    if app.deadline is not None:
        due = f"{date_zh(app.deadline)}（含）前"
        if app.deadline_provisional:
            due += "（暂定：该年度节假日安排尚未公布）"
    page.row("办结期限", f"自受理之日起 {WORKING_DAYS_TO_DECIDE} 个工作日内作出决定（受理当日不计入），即 {due}")
    if rounds_of(deps, app.id):
        page.row("依据", RESTART_BASIS)
    page.ln(4)
    page.text_block("请妥善保管本回执。审批结果将以短信通知申请时登记的手机号码；不予批准的，将一次性告知全部理由。")
    page.text_block(
        "查询办理进度：用手机扫描下方二维码（已填好办件编号），或在本系统首页点「办件进度查询」输入办件编号，"
        "再输入发送到申请时登记手机号码的短信验证码即可查看，无需登录。"
    )
    page.text_block(f"查询网址：{progress_url(deps, app.id)}", size=9)
    page.qr(progress_url(deps, app.id), "扫码查询办理进度", size=34)
    page.ln(2)
    page.sign_boxes("受理人（签章）", "日期")
    page.text_block(f"打印时间：{_time_zh(deps.clock.now())}", size=9)
    return page.bytes()
