// certmaker dashboard: small conveniences. Every page works without them.
"use strict";
(function () {
  // The challenge page: show the URLs for the port being typed.
  var port = document.getElementById("port");
  if (port) {
    var update = function () {
      var p = parseInt(port.value, 10);
      if (!(p >= 1 && p <= 65535)) return;
      document.querySelectorAll("code.url[data-host]").forEach(function (el) {
        el.textContent = "http://" + el.dataset.host + ":" + p + el.dataset.path;
      });
      document.querySelectorAll(".port-text").forEach(function (el) { el.textContent = String(p); });
    };
    port.addEventListener("input", update);
  }

  // Slow submits (key generation, fetching tokens): one click, and say so.
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function () {
      var b = form.querySelector("button[data-busy]");
      if (!b) return;
      // After this event, so that the button's own value is still sent.
      setTimeout(function () { b.disabled = true; b.textContent = b.dataset.busy; }, 0);
    });
  });

  // Copy buttons, where the browser allows the clipboard (https or localhost).
  if (navigator.clipboard && window.isSecureContext) {
    document.querySelectorAll("button[data-copy]").forEach(function (b) {
      var src = document.getElementById(b.dataset.copy);
      if (!src) return;
      b.hidden = false;
      b.addEventListener("click", function () {
        navigator.clipboard.writeText(src.textContent.trim()).then(function () {
          b.textContent = "Copied";
          setTimeout(function () { b.textContent = "Copy"; }, 2000);
        });
      });
    });
  }
})();
