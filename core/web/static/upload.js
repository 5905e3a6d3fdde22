// Proof uploads: check type and size before sending, show progress, keep the stored file's id
// in a hidden field named after the document path. The server checks every file again.
(function () {
  "use strict";
  var MAX_BYTES = 10 * 1024 * 1024;
  var TYPES = { "image/jpeg": 1, "image/png": 1, "application/pdf": 1 };
  var EXTENSIONS = /\.(jpe?g|png|pdf)$/i;
  var form = document.getElementById("application-form");
  if (!form) { return; }
  var url = form.getAttribute("data-upload-url");
  var token = form.getAttribute("data-csrf");

  function problemsOf(file) {
    var problems = [];
    if (!TYPES[file.type] || !EXTENSIONS.test(file.name)) {
      problems.push("“" + file.name + "”不是 JPG、PNG 或 PDF 文件");
    }
    if (file.size > MAX_BYTES) {
      problems.push("“" + file.name + "”超过 10 MB（" + (file.size / 1048576).toFixed(1) + " MB）");
    }
    if (file.size === 0) { problems.push("“" + file.name + "”是空文件"); }
    return problems;
  }

  function showErrors(box, messages) {
    var el = box.querySelector(".upload-error");
    el.textContent = messages.join("；");
    el.classList.toggle("hidden", messages.length === 0);
  }

  function send(box, file, done) {
    var bar = box.querySelector("progress");
    var list = box.querySelector(".upload-list");
    var name = box.getAttribute("data-upload-field");
    var data = new FormData();
    data.append("file", file);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRF-Token", token);
    bar.value = 0;
    bar.classList.remove("hidden");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
    });
    xhr.addEventListener("load", function () {
      bar.classList.add("hidden");
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
      if (xhr.status === 200 && body && body.id) {
        var li = document.createElement("li");
        var hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = name; hidden.value = body.id;
        li.appendChild(hidden);
        li.appendChild(document.createTextNode("已上传：" + body.name));
        list.appendChild(li);
        done([]);
      } else if (body && body.errors) {
        done(body.errors.map(function (e) { return "“" + file.name + "”：" + e.message; }));
      } else if (xhr.status === 413) {
        done(["“" + file.name + "”超过 10 MB"]);
      } else {
        done(["“" + file.name + "”上传失败，请重试"]);
      }
    });
    xhr.addEventListener("error", function () { bar.classList.add("hidden"); done(["网络错误，请重试"]); });
    xhr.send(data);
  }

  Array.prototype.forEach.call(form.querySelectorAll("[data-upload-field]"), function (box) {
    var input = box.querySelector("input[type=file]");
    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files);
      var problems = [];
      files.forEach(function (f) { problems = problems.concat(problemsOf(f)); });
      showErrors(box, problems);
      if (problems.length) { input.value = ""; return; }
      var errors = [];
      var next = function () {
        var file = files.shift();
        if (!file) { showErrors(box, errors); input.value = ""; return; }
        send(box, file, function (more) { errors = errors.concat(more); next(); });
      };
      next();
    });
  });
})();
