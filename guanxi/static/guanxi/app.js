// Small behaviours that would otherwise need inline script (forbidden by our CSP).
(function () {
  "use strict";
  // Controls that only the no-JavaScript fallback needs (class gx-no-js) hide once this runs.
  document.documentElement.classList.add("gx-js");
  // Any form or button with data-confirm asks before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute("data-confirm") ||
      (event.submitter && event.submitter.getAttribute("data-confirm"));
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  }, true);
  // Copy-to-clipboard buttons: data-copy-target="#element-id".
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) { return; }
    var target = document.querySelector(button.getAttribute("data-copy-target"));
    if (target && navigator.clipboard) {
      navigator.clipboard.writeText(target.textContent.trim());
      button.textContent = button.getAttribute("data-copied-label") || button.textContent;
    }
  });
})();
