/* The live auditor's panel: "0 lost · 0 double-charged · 0 oversold · 0 duplicate notices
   · 0 overdue" (and the rarer kinds when not zero), how many orders were audited, and a
   drill-down list of the orders that break a promise, each a link to its timeline
   (#order=<id>). Its data is the monitor's status (`audit`, dashboard/audit.py), which
   live.js announces as a `dashboard:status` event. The rules (`Audit.parts`, ...) are
   pure, so Node's test runner checks them (dashboard/tests/js/audit.test.js). */
(function (root) {
  "use strict";

  /* The headline kinds, always shown, then the others, shown when not zero. */
  const HEADLINE = [
    ["lost", "lost"],
    ["doubleCharged", "double-charged"],
    ["oversold", "oversold"],
    ["duplicateNotices", "duplicate notices"],
    ["overdue", "overdue"],
  ];
  const OTHERS = [
    ["wrongCharge", "wrong net charge"],
    ["stockLeak", "stock leaks"],
    ["conflictingOutcomes", "conflicting outcomes"],
  ];

  /* [{key, label, count}] to show for an audit (null: the auditor has said nothing). */
  function parts(audit) {
    const counts = audit ? audit.counts : {};
    const out = HEADLINE.map(function (k) {
      return { key: k[0], label: k[1], count: audit ? counts[k[0]] || 0 : null };
    });
    OTHERS.forEach(function (k) {
      if (audit && counts[k[0]]) out.push({ key: k[0], label: k[1], count: counts[k[0]] });
    });
    return out;
  }

  /* "0 lost · 0 double-charged · …" */
  function line(audit) {
    return parts(audit).map(function (p) {
      return (p.count === null ? "–" : p.count) + " " + p.label;
    }).join(" · ");
  }

  /* How many orders break something: the sum of the counts is not it (an order may
     break several promises); the list is bounded, so say "at least". */
  function total(audit) {
    if (!audit) return 0;
    return Object.keys(audit.counts).reduce(function (s, k) { return s + audit.counts[k]; }, 0);
  }

  /* The note beside the title: orders audited, pending, or why there is nothing. */
  function note(audit) {
    if (!audit) return "auditor not heard from yet";
    const text = audit.orders + " orders audited · " + audit.pending + " settling";
    return audit.stale ? text + " · auditor silent (last " + audit.updatedAt + ")" : text;
  }

  /* "double-charged, wrong net charge" for an order's kinds (snake_case from the wire). */
  function kindsText(kinds) {
    const all = HEADLINE.concat(OTHERS);
    return kinds.map(function (k) {
      const camel = k.replace(/_([a-z])/g, function (_, c) { return c.toUpperCase(); });
      const found = all.find(function (x) { return x[0] === camel; });
      return found ? found[1] : k;
    }).join(", ");
  }

  const api = { parts: parts, line: line, total: total, note: note, kindsText: kindsText };
  if (typeof module !== "undefined" && module.exports) {
    module.exports = api;
    return;
  }
  root.Audit = api;

  /* ---- the panel ---- */
  const $ = function (id) { return document.getElementById(id); };
  let latest;
  let pending = false;

  function render() {
    pending = false;
    const audit = latest;
    const box = $("audit");
    if (!box) return;
    const line = $("audit-line");
    line.replaceChildren();
    parts(audit).forEach(function (p, i) {
      if (i) line.append(" · ");
      const span = document.createElement("span");
      span.className = "audit-kind" + (p.count ? " bad" : "");
      span.dataset.kind = p.key;
      const b = document.createElement("b");
      b.textContent = p.count === null ? "–" : String(p.count);
      span.append(b, " " + p.label);
      line.append(span);
    });
    box.classList.toggle("alert", total(audit) > 0);
    box.classList.toggle("stale", !audit || audit.stale);
    $("audit-note").textContent = note(audit);
    const list = $("audit-list");
    list.replaceChildren();
    const violations = audit ? audit.violations : [];
    $("audit-details").hidden = violations.length === 0;
    $("audit-count").textContent = violations.length + (violations.length >= 50 ? "+" : "") +
      (violations.length === 1 ? " order" : " orders");
    violations.forEach(function (v) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "/dashboard/#order=" + encodeURIComponent(v.orderId);
      a.textContent = v.orderId;
      li.append(a, " " + kindsText(v.kinds));
      list.append(li);
    });
  }

  function show(audit) {
    latest = audit || null;
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(render);
  }

  document.addEventListener("dashboard:status", function (e) { show(e.detail.audit); });
  fetch("/api/dashboard/status", { headers: { Accept: "application/json" } })
    .then(function (r) { return r.json(); })
    .then(function (d) { if (latest === undefined) show(d.status && d.status.audit); })
    .catch(function () { show(null); });
})(this);
