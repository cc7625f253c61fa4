/* Chaos controls (staff, when `sagactl run` runs the platform locally): kill a worker (the
   supervisor restarts it), restart it, scale a service, pause/resume it, through
   POST /api/dashboard/chaos with the session's CSRF token. The choices come from the
   monitor's status (its processes); each action done is marked on the charts and the map. */
(function () {
  "use strict";
  const form = document.getElementById("chaos");
  if (!form) return;
  const $ = function (id) { return document.getElementById(id); };
  /* The gateway serves this page: the API refuses to act on it, so it is not offered. */
  const PROTECTED = ["gateway"];
  const buttons = Array.prototype.slice.call(form.querySelectorAll("button[data-action]"));
  let busy = false;
  let local = null;

  function options(select, values, label) {
    const key = values.join(",");
    if (select.dataset.key === key) return;
    const keep = select.value;
    select.dataset.key = key;
    select.replaceChildren.apply(select, values.map(function (v) {
      const o = document.createElement("option");
      o.value = v;
      o.textContent = label ? label(v) : v;
      return o;
    }));
    if (values.indexOf(keep) >= 0) select.value = keep;
  }

  function enable() {
    buttons.forEach(function (b) { b.disabled = busy || !local; });
  }

  function status(msg) {
    const procs = msg.processes;
    local = !!procs;
    if (!procs) {
      $("chaos-note").textContent = "no local platform: these need `sagactl run` (its control socket)";
    } else {
      $("chaos-note").textContent = "";
      const services = Object.keys(procs).filter(function (s) { return PROTECTED.indexOf(s) < 0; }).sort();
      const names = [];
      const state = {};
      services.forEach(function (s) {
        procs[s].processes.forEach(function (p) { names.push(p.name); state[p.name] = p.state; });
      });
      options($("chaos-process"), names, function (n) { return n + " (" + state[n] + ")"; });
      Array.prototype.forEach.call($("chaos-process").options, function (o) {
        const text = o.value + " (" + state[o.value] + ")";
        if (o.textContent !== text) o.textContent = text;
      });
      options($("chaos-service"), services);
    }
    enable();
  }

  function describe(body) {
    const r = body.result || {};
    if (body.action === "kill") return "killed " + body.target + " (pid " + r.pid + "); the supervisor restarts it";
    if (body.action === "restart") return "restarted " + body.target + " in " + body.tookS + " s";
    if (body.action === "scale") return "scaled " + body.target + " to " + body.count +
      ((r.started || []).length ? "; started " + r.started.join(", ") : "") +
      ((r.stopped || []).length ? "; stopped " + r.stopped.join(", ") : "");
    if (body.action === "pause") return "paused " + (r.paused || []).join(", ");
    return "resumed " + ((r.resumed || []).join(", ") || "nothing (none paused)");
  }

  async function act(action) {
    const body = { action: action };
    if (action === "kill" || action === "restart") body.process = $("chaos-process").value;
    else body.service = $("chaos-service").value;
    if (action === "scale") body.count = Number($("chaos-count").value);
    busy = true;
    enable();
    $("chaos-result").textContent = action + " " + (body.process || body.service) + "…";
    try {
      const answer = await window.Live.sendJson("POST", "/api/dashboard/chaos", body);
      if (answer.ok) {
        $("chaos-result").textContent = describe(answer.data);
        $("chaos-result").className = "note";
        if (window.Trends) window.Trends.mark(answer.data);
        if (window.ChoreoMap && window.ChoreoMap.mark) window.ChoreoMap.mark(answer.data);
      } else {
        const d = answer.data || {};
        $("chaos-result").textContent = "refused (" + answer.status + "): " + (d.detail || "no answer");
        $("chaos-result").className = "note error";
      }
    } catch (err) {
      $("chaos-result").textContent = "failed: " + err.message;
      $("chaos-result").className = "note error";
    } finally {
      busy = false;
      enable();
    }
  }

  buttons.forEach(function (b) { b.onclick = function () { act(b.dataset.action); }; });
  form.onsubmit = function (e) { e.preventDefault(); };
  window.Live.listeners.push(function (msg) { if (msg.type === "status") status(msg); });
  enable();
})();
