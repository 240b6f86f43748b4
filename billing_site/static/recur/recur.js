/* Recur's small page behaviours, kept out of the HTML so the Content-Security-Policy can refuse inline
   scripts: confirm before a destructive form, submit a select on change, and widths/positions of bars
   computed by the server (data-width / data-left, in %). Works on content HTMX swaps in too. */
(function () {
  "use strict";

  function applyGeometry(root) {
    root.querySelectorAll("[data-width], [data-left]").forEach(function (el) {
      if (el.dataset.width !== undefined) { el.style.width = parseFloat(el.dataset.width) + "%"; }
      if (el.dataset.left !== undefined) { el.style.left = parseFloat(el.dataset.left) + "%"; }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) { el.form.submit(); }
  });

  document.addEventListener("DOMContentLoaded", function () { applyGeometry(document); });
  document.addEventListener("htmx:load", function (event) { applyGeometry(event.target); });
})();
