/* The form tab (R9): the back button closes the tab, and the tab holds the guardian's one open-form
   lock while it is in use. Everything here is an enhancement: without JavaScript the back button is
   a link to the portal and the lock expires after its idle timeout. */
(function () {
  "use strict";

  // Back button: close the tab opened from the portal; where the browser refuses (the tab was not
  // opened by a link, or has history of its own), follow the link to the portal instead.
  document.querySelectorAll("[data-close-tab]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      window.close();
      window.setTimeout(function () {
        if (!window.closed) { window.location.assign(link.href); }
      }, 200);
    });
  });

  var lock = document.querySelector("[data-form-lock]");
  if (!lock || !window.fetch) { return; }
  var data = lock.dataset;

  function body() {
    var form = new FormData();
    form.append("csrfmiddlewaretoken", data.csrf);
    form.append("token", data.token);
    form.append("form", data.form);
    form.append("student", data.student);
    return form;
  }

  // Heartbeat: renew the lock while the parent uses the tab; a tab left idle lets it expire.
  var active = false;
  ["keydown", "input", "pointerdown", "scroll", "focus"].forEach(function (name) {
    window.addEventListener(name, function () { active = true; }, { passive: true, capture: true });
  });
  function heartbeat(force) {
    if (!force && !active) { return; }
    active = false;
    window.fetch(data.heartbeatUrl, { method: "POST", body: body(), credentials: "same-origin" })
      .catch(function () { /* the next beat retries */ });
  }
  window.setInterval(heartbeat, Math.max(250, parseInt(data.intervalMs, 10) || 60000));

  // Page hide (closing the tab, leaving the page): release the lock this tab holds. A page of the
  // same form opened next has already taken the lock under its own token, so this does not undo it.
  window.addEventListener("pagehide", function () {
    if (navigator.sendBeacon) { navigator.sendBeacon(data.releaseUrl, body()); }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { heartbeat(true); }
  });
})();
