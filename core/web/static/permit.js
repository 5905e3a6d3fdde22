// The e-permit page: fetch a fresh short-lived presentation QR before the current one expires,
// count down, and list the institutions that verified this permit.
(function () {
  "use strict";
  var img = document.getElementById("presentation-qr");
  var label = document.getElementById("qr-countdown");
  var MARGIN = 15; // seconds before expiry to fetch the next one

  if (img) {
    var src = img.getAttribute("data-src");
    var left = parseInt(img.getAttribute("data-lifetime"), 10) || 60;
    var lastUrl = null;
    var refresh = function () {
      fetch(src + "?t=" + Date.now(), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) {
          if (!r.ok) { throw new Error(String(r.status)); }
          left = parseInt(r.headers.get("X-Expires-In"), 10) || left;
          return r.blob();
        })
        .then(function (blob) {
          if (lastUrl) { URL.revokeObjectURL(lastUrl); }
          lastUrl = URL.createObjectURL(blob);
          img.src = lastUrl;
          img.setAttribute("data-refreshed", String(Date.now()));
        })
        .catch(function () { label.textContent = "二维码更新失败，请检查网络后刷新页面"; });
    };
    setInterval(function () {
      left -= 1;
      if (left <= MARGIN) { left = 1000; refresh(); return; }
      label.textContent = "二维码 " + (left - MARGIN) + " 秒后自动更新，截图无效";
    }, 1000);
  }

  var list = document.getElementById("verifications");
  var status = document.getElementById("verifications-status");
  if (list) {
    fetch(list.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        var items = body.verifications || [];
        items.forEach(function (v) {
          var li = document.createElement("li");
          var when = v.at ? new Date(v.at).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) : "";
          li.textContent = (v.institution || "核验机构") + " · " + when + " · " + (v.valid ? "核验通过" : "核验未通过");
          list.appendChild(li);
        });
        status.textContent = items.length ? "以下机构核验过本证：" : "暂无机构核验过本证。";
        if (body.unavailable && body.unavailable.length) { status.textContent += "（部分核验服务暂时无法查询）"; }
      })
      .catch(function () { status.textContent = "暂时无法查询核验记录。"; });
  }
})();
