// District admin console: small enhancements; every page works without them.
(function () {
  "use strict";
  document.documentElement.classList.add("has-js");

  // Submission Workspace: "select all on this page".
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('#bulk-form input[name="selected"]').forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }

  // Available Forms: the custom selection only matters in Manual mode.
  var selection = document.getElementById("manual-selection");
  if (selection) {
    var radios = document.querySelectorAll('input[name="mode"]');
    var sync = function () {
      var manual = document.getElementById("mode-manual");
      selection.classList.toggle("is-inactive", !(manual && manual.checked));
    };
    radios.forEach(function (r) { r.addEventListener("change", sync); });
    sync();
  }

  // Move focus to the error summary so screen readers announce it.
  var summary = document.querySelector(".error-summary[tabindex]");
  if (summary) { summary.focus(); }
})();
