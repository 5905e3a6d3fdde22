// Checks as the value is typed (on leaving a field), so that a mistyped ID number or a start
// date in the future is flagged on the form, not by an officer days later. The server runs
// the same checks again on every submission; this only saves a round trip.
(function () {
  "use strict";
  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECK = "10X98765432";

  function idProblem(raw) {
    var v = raw.trim().toUpperCase();
    if (!/^\d{17}[\dX]$/.test(v)) {
      return "公民身份号码应为18位：前17位为数字，最后一位为数字或大写字母X（现为 " + v.length + " 位）";
    }
    var sum = 0;
    for (var i = 0; i < 17; i++) { sum += parseInt(v.charAt(i), 10) * WEIGHTS[i]; }
    if (CHECK.charAt(sum % 11) !== v.charAt(17)) {
      return "公民身份号码校验位不正确，可能有数字填错，请核对身份证后重新填写";
    }
    var y = +v.substr(6, 4), m = +v.substr(10, 2), d = +v.substr(12, 2);
    var born = new Date(Date.UTC(y, m - 1, d));
    if (born.getUTCFullYear() !== y || born.getUTCMonth() !== m - 1 || born.getUTCDate() !== d ||
        y < 1900 || born > new Date()) {
      return "公民身份号码中的出生日期（第7至14位）不是真实日期，请核对身份证后重新填写";
    }
    return "";
  }

  function phoneProblem(raw) {
    return /^1[3-9]\d{9}$/.test(raw.trim()) ? "" : "手机号码应为11位数字，以13至19开头";
  }

  function pastDateProblem(raw, input) {
    var max = input.getAttribute("max");
    if (!max || raw <= max) { return ""; }
    var p = max.split("-");
    return "日期不能晚于今天（" + p[0] + "年" + (+p[1]) + "月" + (+p[2]) + "日），请核对后重新填写";
  }

  // 办件编号: the server's govcred.core.reference (Crockford base 32, Luhn mod 32 check symbol)
  var REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

  function referenceProblem(raw) {
    var v = raw.toUpperCase().replace(/[ -]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
    var wrong = [];
    for (var i = 0; i < v.length; i++) {
      var c = v.charAt(i);
      if (REF_ALPHABET.indexOf(c) < 0 && wrong.indexOf(c) < 0) { wrong.push(c); }
    }
    if (wrong.length) {
      return "办件编号只含数字和字母（不含 U），不能含有 " + wrong.sort().slice(0, 5).map(function (c) { return "“" + c + "”"; }).join("、");
    }
    if (v.length !== 12) { return "办件编号应为 12 位（已填 " + v.length + " 位），请对照受理回执或短信核对"; }
    var sum = 0;
    for (var j = 0; j < 12; j++) {
      var value = REF_ALPHABET.indexOf(v.charAt(11 - j));
      if (j % 2 === 1) { value *= 2; value = Math.floor(value / 32) + (value % 32); }
      sum += value;
    }
    return sum % 32 === 0 ? "" : "办件编号的校验位不符，可能有字符输错或顺序颠倒，请对照受理回执或短信核对";
  }

  var CHECKS = {
    "id-number": idProblem, "phone": phoneProblem, "past-date": pastDateProblem, "reference": referenceProblem
  };

  function check(input) {
    var fn = CHECKS[input.getAttribute("data-check")];
    var box = document.getElementById(input.id + "-live");
    if (!fn || !box) { return; }
    var problem = input.value.trim() ? fn(input.value, input) : "";
    box.textContent = problem;
    box.classList.toggle("hidden", !problem);
    input.closest(".field").classList.toggle("field-live-invalid", !!problem);
    if (problem) { input.setAttribute("aria-invalid", "true"); } else if (!input.closest(".field-invalid")) {
      input.removeAttribute("aria-invalid");
    }
  }

  var inputs = document.querySelectorAll("input[data-check]");
  for (var i = 0; i < inputs.length; i++) {
    inputs[i].addEventListener("change", function (e) { check(e.target); });
    inputs[i].addEventListener("blur", function (e) { check(e.target); });
  }
})();
