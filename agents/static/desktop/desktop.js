/* Agent desktop: live panels over server-sent events, clocks, and POST actions.
   No build step. The server renders (and escapes) every panel; this script only swaps
   server-rendered HTML in, and writes text with textContent. */
(function () {
  "use strict";
  var desk = document.getElementById("desk");
  if (!desk) return;

  var PANELS = { status: "panel-status", campaigns: "panel-campaigns", card: "panel-card", messages: "panel-messages" };
  var offset = Date.parse(desk.dataset.serverNow) - Date.now();
  var lastHtml = {};
  var keys = {};
  var pending = {};
  var ticked = {};
  var logout = { pending: false };
  var wasPending = false;
  var DISMISSED = "desk-logout-dismissed";

  function serverNow() { return Date.now() + offset; }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function hms(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    return pad(Math.floor(s / 3600)) + ":" + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60);
  }
  function ms(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    if (s >= 3600) return hms(s * 1000);
    return pad(Math.floor(s / 60)) + ":" + pad(s % 60);
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function toast(text, kind) {
    var el = document.getElementById("toast");
    el.textContent = text;
    el.className = "toast " + (kind || "error");
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { el.hidden = true; }, kind === "ok" ? 2500 : 6000);
  }

  function announce(text) {
    document.getElementById("live-region").textContent = text;
  }

  /* --- Clocks ------------------------------------------------------------------------ */
  function post(url) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRFToken": csrfToken() },
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) { if (data) apply(data); })
      .catch(function () {});
  }

  function tickClocks() {
    var now = serverNow();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = hms(now - Date.parse(el.dataset.since));
    });
    document.querySelectorAll("[data-until]").forEach(function (el) {
      var left = Date.parse(el.dataset.until) - now;
      if (left > 0) {
        el.textContent = el.id === "status-clock" ? hms(Math.ceil(left / 1000) * 1000) : ms(left);
        el.classList.toggle("soon", left < 10000);
        el.classList.remove("expired");
        return;
      }
      el.textContent = el.dataset.done || (el.dataset.overdue || "00:00");
      el.classList.add("expired");
      // A countdown the server must act on: ask it (again every 2 s until it has).
      if (el.hasAttribute("data-tick")) {
        var key = el.dataset.until;
        if (!ticked[key] || Date.now() - ticked[key] > 2000) {
          ticked[key] = Date.now();
          post(desk.dataset.tickUrl);
        }
      }
    });
    updateLogoutDialog(now);
  }

  /* --- Negotiated logout dialog --------------------------------------------------------- */
  function dialog() { return document.getElementById("logout-dialog"); }

  function updateLogoutDialog(now) {
    var dlg = dialog();
    if (!dlg || !dlg.open) return;
    var cd = document.getElementById("logout-dialog-countdown");
    if (logout.pending) {
      if (logout.authorized_at) {
        var left = Date.parse(logout.authorized_at) - now;
        cd.textContent = left > 0 ? "Logoff authorized in " + ms(left) : "Logoff authorized — logging out…";
      } else {
        cd.textContent = "Logoff will be authorized when this call and its wrap-up end and its disposition is set.";
      }
    }
  }

  function showLogout(state) {
    var dlg = dialog();
    var dismissed = sessionStorage.getItem(DISMISSED);
    if (state.pending) {
      wasPending = true;
      if (dismissed !== state.requested_at && !dlg.open) {
        document.getElementById("logout-dialog-title").textContent = "Awaiting logoff authorization";
        document.getElementById("logout-dialog-text").textContent =
          "Your logout is delayed while a call is being set up, in progress or wrapped up for you. " +
          "No new calls are offered to you. You can dismiss this message: the countdown stays in " +
          "My Messages and in your status icon.";
        dlg.dataset.requestedAt = state.requested_at;
        dlg.showModal();
      }
    } else if (wasPending) {
      wasPending = false;
      if (dlg.open) {
        document.getElementById("logout-dialog-title").textContent = "Logoff authorized";
        document.getElementById("logout-dialog-text").textContent = "You are logged out of your queues.";
        document.getElementById("logout-dialog-countdown").textContent = "✓ Logoff authorized";
      }
      announce("Logoff authorized. You are logged out of your queues.");
    }
  }

  dialog().addEventListener("close", function () {
    if (logout.pending && logout.requested_at) sessionStorage.setItem(DISMISSED, logout.requested_at);
  });

  /* --- Panels ------------------------------------------------------------------------ */
  // The CSRF token is masked differently in every render: not a change worth a redraw.
  function normal(html) { return html.replace(/name="csrfmiddlewaretoken" value="[^"]*"/g, ""); }

  function formState(el) {
    var state = {};
    el.querySelectorAll("input[id], select[id], textarea[id]").forEach(function (f) {
      state[f.id] = f.type === "checkbox" ? f.checked : f.value;
    });
    return state;
  }

  function restoreForms(el, state) {
    Object.keys(state).forEach(function (id) {
      var f = document.getElementById(id);
      if (!f || !el.contains(f)) return;
      if (f.type === "checkbox") f.checked = state[id]; else f.value = state[id];
    });
  }

  function replace(name, panel) {
    var el = document.getElementById(PANELS[name]);
    if (!el) return;
    var html = normal(panel.html);
    if (lastHtml[name] === html) return;
    var active = document.activeElement;
    var inside = active && active !== document.body && el.contains(active);
    var typing = inside && active.matches("input, textarea, select") && keys[name] === panel.key;
    if (typing) { pending[name] = panel; return; } // keep what the agent is typing
    var focusId = inside ? active.id : null;
    var openDetails = Array.prototype.map.call(el.querySelectorAll("details[open]"), function (d) { return d.className; });
    var newCard = name === "card" && keys.card !== undefined && keys.card !== panel.key;
    // Same card, same call: keep what the agent chose or typed so far.
    var kept = keys[name] === panel.key ? formState(el) : {};
    el.innerHTML = panel.html;
    restoreForms(el, kept);
    lastHtml[name] = html;
    keys[name] = panel.key;
    delete pending[name];
    openDetails.forEach(function (cls) {
      var d = cls && el.querySelector("details." + cls.split(" ")[0]);
      if (d) d.open = true;
    });
    if (focusId && document.getElementById(focusId)) document.getElementById(focusId).focus();
    if (newCard) {
      var nameEl = el.querySelector(".lead-name");
      var kicker = el.querySelector(".card-kicker");
      if (nameEl) announce((kicker ? kicker.textContent.trim() + ": " : "") + nameEl.textContent);
      var first = el.querySelector("[autofocus]");
      if (first && !inside) first.focus();
    }
  }

  function apply(data) {
    if (data.now) offset = Date.parse(data.now) - Date.now();
    Object.keys(data.panels || {}).forEach(function (name) { replace(name, data.panels[name]); });
    if (data.logout) { logout = data.logout; showLogout(data.logout); }
    if (data.notice) toast(data.notice, "ok");
    tickClocks();
  }

  document.addEventListener("focusout", function () {
    setTimeout(function () {
      Object.keys(pending).forEach(function (name) { replace(name, pending[name]); });
    }, 0);
  });

  var refreshing = false;
  var again = false;
  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(desk.dataset.panelsUrl, { headers: { "X-Requested-With": "fetch" }, cache: "no-store", credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 403 || r.redirected) { window.location.reload(); return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (data) { if (data) apply(data); })
      .catch(function () {})
      .then(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }

  /* --- Actions: plain POSTs with the CSRF token ---------------------------------------- */
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.hasAttribute("data-ajax")) return;
    ev.preventDefault();
    var submitter = ev.submitter;
    var url = (submitter && submitter.getAttribute("formaction")) || form.getAttribute("action");
    var body = new FormData(form);
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRFToken": csrfToken() },
    })
      .then(function (r) {
        return r.json().catch(function () { return { error: r.status === 403 ? "That call or lead is not yours (or no longer on your desk)." : "Something went wrong (" + r.status + ")." }; })
          .then(function (data) { return { ok: r.ok, data: data }; });
      })
      .then(function (res) {
        buttons.forEach(function (b) { b.disabled = false; });
        if (!res.ok) { toast(res.data.error || "Refused."); refresh(); return; }
        apply(res.data);
      })
      .catch(function () {
        buttons.forEach(function (b) { b.disabled = false; });
        toast("The desktop could not reach the server. Try again.");
      });
  });

  /* --- Server-sent events: the browser reconnects by itself (retry:) ------------------ */
  var conn = document.getElementById("conn");
  function setConn(live) {
    if (!conn) return;
    conn.textContent = live ? "Live" : "Reconnecting…";
    conn.className = "conn " + (live ? "live" : "down");
  }
  var source = null;
  function connect() {
    source = new EventSource(desk.dataset.eventsUrl);
    source.addEventListener("hello", function () { setConn(true); refresh(); });
    source.addEventListener("changed", refresh);
    source.onerror = function () {
      setConn(false);
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    };
  }

  document.querySelectorAll("[id^=panel-]").forEach(function (el) {
    var name = el.id.replace("panel-", "");
    lastHtml[name] = undefined;
  });
  connect();
  setInterval(tickClocks, 250);
  setInterval(refresh, 30000); // belt and braces: a lost push is repaired within 30 s
  tickClocks();
})();
