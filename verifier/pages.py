"""The verifier's web page: scan a QR with the device camera, upload a photo of one, or paste
its text; choose the benefit; see a large green or red answer with the masked name and ID to
compare with the ID card.

The page is plain HTML and a script; the script calls the institution API
(``POST /api/v1/verify``) with the institution's API key, which staff enter once and the
browser keeps (no cookie is involved, so there is nothing to forge across sites). Camera
frames go to ``POST /scan/decode`` as JPEG and are decoded here with zxing-cpp; only a frame
that holds a QR is then verified, so the verification log is not flooded with empty frames.
Templates and styles are the issuer pages' own, so all audiences see one look.
"""

from __future__ import annotations

import json

from flask import Blueprint, Flask, current_app, jsonify, render_template, request

from govcred.core.exceptions import ErrorList, VerificationError
from govcred.core.plugins import collect_benefits
from govcred.core.qr import decode_image
from govcred.core.web.assets import STATIC, TEMPLATES
from govcred.verifier.gate import DECODE, admitted_client

bp = Blueprint(
    "verify_pages", __name__, template_folder=str(TEMPLATES), static_folder=str(STATIC), static_url_path="/assets"
)

#: What each reason code means for the person at the counter, and what to do.
REASONS_ZH = {
    "SIGNATURE_INVALID": "签名无效：二维码可能被篡改或伪造，请核对证件原件。",
    "MALFORMED": "无法识别的二维码：请持证人打开电子居住证页面后重新扫描。",
    "UNKNOWN_ISSUER": "不是受信任的发证机关签发的证件。",
    "UNKNOWN_KID": "签发密钥未知：请稍后再试；如仍失败，请联系发证机关。",
    "WRONG_TYPE": "这不是电子居住证二维码。",
    "EXPIRED": "已过期：出示码每隔一两分钟更新，截图无效。请持证人刷新页面后重新出示。",
    "NOT_YET_VALID": "尚未生效：请核对设备时间后重试。",
    "REVOKED": "证件已被吊销，不能享受居住证持有人权益。",
    "SUSPENDED": "证件已中止（例如未按期签注），请持证人到公安窗口办理签注。",
    "STATUS_UNAVAILABLE": "暂时无法确认证件状态，请稍后再试，不能视为有效。",
    "BENEFIT_NOT_COVERED": "证件有效，但不包含所选的公共服务权益。",
    "KEY_REVOKED": "发证机关已停用签发该二维码的密钥（密钥泄露）：不能视为有效。请持证人重新打开电子居住证出示新的二维码（证件已重新签发）；仍无效的，请联系发证机关。",
    "ISSUER_OUT_OF_SCOPE": "发证机关无权签发该地区或该类证件，不能视为有效，请核对证件原件。",
    "PRESENTATION_REPLAYED": "该出示码已被使用过：请持证人刷新页面，出示新的二维码。",
}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _state():
    return current_app.extensions["verifier"]


@bp.get("/")
def page():
    benefits = collect_benefits(_state().verifier.pm) if _state().verifier.pm is not None else {}
    return render_template(
        "verify/page.html",
        benefits=sorted(benefits.items()),
        reasons_json=json.dumps(REASONS_ZH, ensure_ascii=False),
        static_endpoint="verify_pages.static",
        home_url="/",
    )


@bp.post("/scan/decode")
def decode():
    """One camera frame (JPEG) to the token its QR holds; 422 when the frame holds none."""
    admitted_client(request.headers.get("X-Api-Key"), endpoint=DECODE)  # ~0.5 s of CPU a large frame
    frame = request.files.get("frame")
    errors = ErrorList()
    if frame is None:
        errors.add("frame", "REQUIRED", "缺少图像（字段 frame）")
    errors.raise_if_any()
    try:
        token = decode_image(frame.read())
    except VerificationError as exc:
        return jsonify({"found": False, "reason": exc.reason}), 422
    return jsonify({"found": True, "token": token})
