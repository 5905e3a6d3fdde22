// The verifier page: camera frames (JPEG) are decoded by the server; a photo or pasted text is
// verified through the institution API; the answer is a large green or red card.
(function () {
  "use strict";
  var keyInput = document.getElementById("api-key");
  var benefit = document.getElementById("benefit");
  var answer = document.getElementById("answer");
  var reasons = JSON.parse(answer.getAttribute("data-reasons") || "{}");
  var video = document.getElementById("camera");
  var status = document.getElementById("camera-status");
  var startBtn = document.getElementById("start-camera");
  var stopBtn = document.getElementById("stop-camera");
  var stream = null, timer = null, busy = false;

  keyInput.value = window.localStorage.getItem("govcred-verifier-key") || "";
  keyInput.addEventListener("change", function () {
    window.localStorage.setItem("govcred-verifier-key", keyInput.value.trim());
  });

  function headers() { return { "X-Api-Key": keyInput.value.trim() }; }

  function row(dl, term, value) {
    var dt = document.createElement("dt"); dt.textContent = term;
    var dd = document.createElement("dd"); dd.textContent = value;
    dl.appendChild(dt); dl.appendChild(dd);
  }

  function show(body) {
    answer.textContent = "";
    var card = document.createElement("section");
    card.className = "answer " + (body.valid ? "answer-green" : "answer-red");
    card.id = "answer-card";
    card.setAttribute("data-valid", body.valid ? "true" : "false");
    var h = document.createElement("h2");
    h.textContent = body.valid ? "✔ 有效" : "✘ 无效";
    card.appendChild(h);
    var dl = document.createElement("dl");
    dl.className = "facts";
    if (body.holder) {
      row(dl, "姓名", body.holder.name_masked);
      row(dl, "身份证号", body.holder.id_masked);
    }
    if (body.benefit) {
      var option = benefit.querySelector("option[value='" + body.benefit.code + "']");
      row(dl, "公共服务", (option ? option.textContent : body.benefit.code) + (body.benefit.qualifies ? "：可以享受" : "：不能享受"));
    }
    (body.reasons || []).forEach(function (code) { row(dl, "原因", reasons[code] || code); });
    if (body.checked_at) {
      row(dl, "核验时间", new Date(body.checked_at).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }));
    }
    card.appendChild(dl);
    if (body.valid && body.holder) {
      var p = document.createElement("p");
      p.className = "assurance assurance-" + (body.assurance || "static");
      card.setAttribute("data-assurance", body.assurance || "");
      // a static code (printout, downloaded image) proves the permit, not who shows it
      p.textContent = body.assurance === "live"
        ? "这是持证人刚刚出示的动态码。请与持证人的居民身份证核对姓名和号码。"
        : "这是静态二维码（打印件或下载的图片），只能证明证件有效，不能证明出示人就是持证人：请务必查验持证人的居民身份证，核对姓名和号码。";
      card.appendChild(p);
    }
    answer.appendChild(card);
    answer.focus();
  }

  // An operator's mistake (no key, nothing pasted, a photo without a QR, the network): not a
  // verdict on the permit, so never the red "无效" card.
  function notice(message) {
    answer.textContent = "";
    var card = document.createElement("section");
    card.className = "answer answer-notice";
    card.id = "answer-card";
    card.setAttribute("data-notice", "true");
    var h = document.createElement("h2");
    h.textContent = "⚠ 尚未核验";
    var p = document.createElement("p");
    p.className = "notice-message";
    p.textContent = message;
    card.appendChild(h);
    card.appendChild(p);
    answer.appendChild(card);
    answer.focus();
  }
  var problem = notice;

  function keyMissing() {
    if (keyInput.value.trim()) { return false; }
    notice("请先在“机构接入密钥”中输入本机构的密钥（由发证机关分配），再核验。");
    keyInput.focus();
    return true;
  }

  function verify(init) {
    return fetch("/api/v1/verify", init).then(function (r) {
      return r.json().then(function (body) {
        if (r.ok) { show(body); return; }
        if (r.status === 401) { problem("机构接入密钥无效，请检查后重新输入。"); return; }
        if (r.status === 429) { problem("请求过于频繁，请稍后再试。"); return; }
        var msgs = (body.errors || []).map(function (e) { return e.message; });
        problem(msgs.length ? msgs.join("；") : (body.title || "核验失败"));
      });
    }).catch(function () { problem("网络错误，请检查网络后重试。"); });
  }

  function verifyText(text, field) {
    var body = {};
    body[field || "qr"] = text;
    if (benefit.value) { body.benefit = benefit.value; }
    var h = headers(); h["Content-Type"] = "application/json";
    return verify({ method: "POST", headers: h, body: JSON.stringify(body) });
  }

  document.getElementById("paste-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = document.getElementById("qr-text").value.trim();
    if (keyMissing()) { return; }
    if (!text) { notice("还没有粘贴内容：请先把二维码内容粘贴到输入框中，再点“核验粘贴的内容”。"); return; }
    verifyText(text);
  });

  document.getElementById("photo").addEventListener("change", function (e) {
    var file = e.target.files[0];
    if (!file) { return; }
    if (keyMissing()) { e.target.value = ""; return; }
    if (file.size > 5 * 1024 * 1024) { problem("图片超过 5 MB，请裁剪后重试。"); return; }
    var data = new FormData();
    data.append("image", file);
    if (benefit.value) { data.append("benefit", benefit.value); }
    verify({ method: "POST", headers: headers(), body: data }).then(function () { e.target.value = ""; });
  });

  function stopCamera() {
    if (timer) { clearInterval(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    video.classList.add("hidden");
    stopBtn.hidden = true; startBtn.hidden = false;
  }

  function grab() {
    if (busy || !video.videoWidth) { return; }
    busy = true;
    var canvas = document.createElement("canvas");
    var scale = Math.min(1, 1280 / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(function (blob) {
      var data = new FormData();
      data.append("frame", blob, "frame.jpg");
      fetch("/scan/decode", { method: "POST", headers: headers(), body: data })
        .then(function (r) { return r.json().then(function (body) { return [r.status, body]; }); })
        .then(function (res) {
          if (res[0] === 200 && res[1].found) {
            stopCamera();
            status.textContent = "已读取二维码，正在核验……";
            return verifyText(res[1].token, "token").then(function () { status.textContent = ""; });
          }
          if (res[0] === 401) { stopCamera(); problem("机构接入密钥无效，请检查后重新输入。"); }
        })
        .catch(function () { status.textContent = "网络错误，正在重试……"; })
        .then(function () { busy = false; });
    }, "image/jpeg", 0.85);
  }

  startBtn.addEventListener("click", function () {
    if (keyMissing()) { return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      status.textContent = "此浏览器不能使用摄像头，请上传照片或粘贴内容。";
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        video.classList.remove("hidden");
        startBtn.hidden = true; stopBtn.hidden = false;
        status.textContent = "请将二维码对准摄像头……";
        return video.play();
      })
      .then(function () { timer = setInterval(grab, 700); })
      .catch(function () { stopCamera(); status.textContent = "无法打开摄像头，请检查权限，或上传照片。"; });
  });
  stopBtn.addEventListener("click", stopCamera);
})();
