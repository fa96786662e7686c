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
  // A checkbox with data-check-all="name" ticks or unticks every checkbox of that name.
  document.addEventListener("change", function (event) {
    var box = event.target;
    var name = box.getAttribute && box.getAttribute("data-check-all");
    if (!name) { return; }
    document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (other) {
      other.checked = box.checked;
    });
  });
  // Tom Select on <select data-tom-select> (loaded only by the pages that use it). With
  // data-lookup-url the options come from the server as the user types; the server's search
  // (pinyin, initials) decides the matches, so Tom Select must not filter them again.
  function enhanceSelects(root) {
    if (typeof window.TomSelect === "undefined") { return; }
    root.querySelectorAll("select[data-tom-select]").forEach(function (select) {
      if (select.tomselect) { return; }
      var options = { plugins: select.multiple ? ["remove_button"] : [], maxOptions: 200 };
      // Tom Select's own texts are English: the page supplies them in the user's language.
      var noResults = select.getAttribute("data-no-results");
      if (noResults) {
        options.render = {
          no_results: function (data, escape) {
            return '<div class="no-results">' + escape(noResults) + "</div>";
          }
        };
      }
      var url = select.getAttribute("data-lookup-url");
      if (url) {
        options.valueField = "id";
        options.labelField = "name";
        options.searchField = [];
        options.placeholder = select.getAttribute("data-placeholder") || "";
        options.score = function () { return function () { return 1; }; };
        options.load = function (query, callback) {
          fetch(url + "?q=" + encodeURIComponent(query), { credentials: "same-origin" })
            .then(function (response) { return response.json(); })
            .then(function (body) { callback(body.results); })
            .catch(function () { callback(); });
        };
      }
      new window.TomSelect(select, options);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { enhanceSelects(document); });
  document.addEventListener("htmx:afterSettle", function (event) { enhanceSelects(event.target); });
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
