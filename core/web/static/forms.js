// After a refused form, move focus to the error summary so that screen readers and keyboard
// users start from the list of every problem (each links to its field).
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
