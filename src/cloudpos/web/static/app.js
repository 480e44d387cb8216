// cloudpos back office: small behaviours shared by every page (no inline scripts needed).
(function () {
  "use strict";

  // A form whose submit button has data-confirm asks first (used for simple destructive actions).
  document.addEventListener("submit", function (ev) {
    const btn = ev.submitter;
    const message = (btn && btn.dataset.confirm) || ev.target.dataset.confirm;
    if (message && !window.confirm(message)) {
      ev.preventDefault();
      return;
    }
    // Prevent double submits: once a plain form is really on its way (no script took it over, e.g. htmx),
    // disable its submit buttons. The page is replaced by the response; "pageshow" undoes it on Back.
    const form = ev.target;
    if (form.hasAttribute("data-no-disable") || form.closest("[hx-post],[hx-get],[hx-put],[hx-patch],[hx-delete]")) {
      return;
    }
    window.setTimeout(function () {
      if (ev.defaultPrevented) { return; }
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; b.dataset.cpDisabled = "1"; });
    }, 0);
  });

  window.addEventListener("pageshow", function () {
    document.querySelectorAll("button[data-cp-disabled]").forEach(function (b) {
      b.disabled = false;
      delete b.dataset.cpDisabled;
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    // A modal marked data-autoshow opens on load (a form inside it came back with errors).
    document.querySelectorAll(".modal[data-autoshow]").forEach(function (el) {
      if (window.bootstrap) { window.bootstrap.Modal.getOrCreateInstance(el).show(); }
    });
    // Focus the first invalid field so the keyboard user lands on what needs fixing.
    const invalid = document.querySelector(".is-invalid");
    if (invalid && !invalid.closest(".modal")) { invalid.focus(); }
    // Audit rows: Enter or Space toggles the details, like a click.
    document.querySelectorAll("[data-toggle-row]").forEach(function (row) {
      row.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); row.click(); }
      });
    });
  });

  // The first-run guide (新手引导) keeps its state in the browser: which steps were skipped, and dismissal.
  document.addEventListener("alpine:init", function () {
    window.Alpine.data("guide", function (key) {
      const storageKey = "cloudpos.guide." + key;
      let saved = {};
      try { saved = JSON.parse(window.localStorage.getItem(storageKey) || "{}"); } catch (e) { saved = {}; }
      return {
        skipped: saved.skipped || {},
        dismissed: !!saved.dismissed,
        save() {
          window.localStorage.setItem(storageKey, JSON.stringify({ skipped: this.skipped, dismissed: this.dismissed }));
        },
        skip(step) { this.skipped[step] = true; this.save(); },
        undo(step) { delete this.skipped[step]; this.save(); },
        dismiss() { this.dismissed = true; this.save(); },
        restore() { this.dismissed = false; this.skipped = {}; this.save(); },
      };
    });
  });
})();
