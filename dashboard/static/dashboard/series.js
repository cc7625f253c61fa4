/* Pure rules of the charts of the last five minutes (trends.js draws them): a bounded
   ring of the monitor's samples (dashboard/history.py), rates over a trailing span,
   scales and SVG path data, the chaos markers in view. No DOM, so Node's test runner
   checks them (dashboard/tests/js). */
(function (root) {
  "use strict";

  /* Seconds shown, samples kept at most (5 min of 1.5 s polls and slack). */
  const WINDOW_S = 300;
  const MAX = 400;
  /* Rates are taken over this trailing span (s): smoother than one 1.5 s poll. */
  const SPAN_S = 3;
  /* Two samples further apart than this (s) leave a gap in the lines. */
  const GAP_S = 20;

  /* The ring with `sample` appended (if newer than its last), without samples older
     than `windowS` before it and never more than `max`. Returns a new array. */
  function push(ring, sample, windowS, max) {
    if (!sample || typeof sample.t !== "number") return ring;
    const last = ring.length ? ring[ring.length - 1] : null;
    if (last && sample.t <= last.t) return ring;
    const out = ring.concat([sample]);
    const from = sample.t - (windowS || WINDOW_S);
    let start = 0;
    while (start < out.length && out[start].t < from) start++;
    return out.slice(Math.max(start, out.length - (max || MAX)));
  }

  /* The ring merged with a loaded history (both oldest first), in time order. */
  function merge(ring, samples, windowS, max) {
    const byT = {};
    ring.concat(samples || []).forEach(function (s) { if (s && typeof s.t === "number") byT[s.t] = s; });
    const all = Object.keys(byT).map(Number).sort(function (a, b) { return a - b; });
    let out = [];
    all.forEach(function (t) { out = push(out, byT[t], windowS, max); });
    return out;
  }

  /* Orders/s at each sample from the totals' difference over the trailing span:
     [{t, accepted, decided, completed, cancelled}] (null values across a gap or a
     wiped read model). The first sample has no rate. */
  function rates(samples, spanS) {
    const span = spanS || SPAN_S;
    const out = [];
    let j = 0;
    for (let i = 1; i < samples.length; i++) {
      const s = samples[i];
      while (j < i - 1 && s.t - samples[j + 1].t >= span) j++;
      const p = samples[j];
      const dt = s.t - p.t;
      const gap = dt <= 0 || s.t - samples[i - 1].t > GAP_S;
      const d = function (k) {
        const v = s[k] - p[k];
        return gap || !(v >= 0) ? null : v / dt;
      };
      const completed = d("completed"), cancelled = d("cancelled");
      out.push({
        t: s.t,
        accepted: d("accepted"),
        completed: completed,
        cancelled: cancelled,
        decided: completed === null || cancelled === null ? null : completed + cancelled,
      });
    }
    return out;
  }

  /* The smallest 1, 2 or 5 × 10^k at least `value` (1 at least): the top of an axis. */
  function niceMax(value) {
    if (!(value > 1)) return 1;
    const k = Math.pow(10, Math.floor(Math.log10(value)));
    const steps = [1, 2, 5, 10];
    for (let i = 0; i < steps.length; i++) if (steps[i] * k >= value - 1e-9) return steps[i] * k;
    return 10 * k;
  }

  /* The largest value of `key` (a name or a function) over `points`, nulls skipped. */
  function maxOf(points, key) {
    const get = typeof key === "function" ? key : function (p) { return p[key]; };
    let m = 0;
    points.forEach(function (p) { const v = get(p); if (v !== null && v !== undefined && v > m) m = v; });
    return m;
  }

  /* A scale mapping [d0, d1] onto [r0, r1]. */
  function scale(d0, d1, r0, r1) {
    const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
    return function (v) { return r0 + (v - d0) * k; };
  }

  function num(v) { return Math.round(v * 10) / 10; }

  /* SVG path data of `key` over `points` ("M x,y L x,y ..."), a new "M" after a null
     or a gap of more than GAP_S. */
  function line(points, key, x, y) {
    const get = typeof key === "function" ? key : function (p) { return p[key]; };
    let d = "", open = false, lastT = null;
    points.forEach(function (p) {
      const v = get(p);
      if (v === null || v === undefined) { open = false; return; }
      if (lastT !== null && p.t - lastT > GAP_S) open = false;
      d += (open ? " L" : (d ? " M" : "M")) + num(x(p.t)) + "," + num(y(v));
      open = true;
      lastT = p.t;
    });
    return d;
  }

  /* A closed area between `low` and `high` (functions of a point) over runs of points
     where both are known. */
  function area(points, low, high, x, y) {
    const runs = [];
    let run = [];
    points.forEach(function (p) {
      const a = low(p), b = high(p);
      const gap = run.length && p.t - run[run.length - 1].t > GAP_S;
      if (a === null || b === null || gap) { if (run.length) runs.push(run); run = []; }
      if (a !== null && b !== null) run.push(p);
    });
    if (run.length) runs.push(run);
    return runs.filter(function (r) { return r.length > 1; }).map(function (r) {
      const top = r.map(function (p) { return num(x(p.t)) + "," + num(y(high(p))); });
      const bottom = r.slice().reverse().map(function (p) { return num(x(p.t)) + "," + num(y(low(p))); });
      return "M" + top.join(" L") + " L" + bottom.join(" L") + " Z";
    }).join(" ");
  }

  /* Chaos actions whose time is in [t0, t1], oldest first, each once. */
  function marks(actions, t0, t1) {
    const seen = {};
    return (actions || []).filter(function (a) {
      const key = a.t + " " + a.action + " " + a.target;
      if (seen[key] || a.t < t0 || a.t > t1) return false;
      seen[key] = true;
      return true;
    }).sort(function (a, b) { return a.t - b.t; });
  }

  /* "kill payment.2", "scale payment → 2". */
  function label(a) {
    return a.action + " " + a.target + (a.action === "scale" ? " → " + a.count : "");
  }

  /* Where the time axis starts: five minutes before `t1`, or less while the ring is
     younger (a minute at least), so a fresh page is not a sliver at the right edge. */
  function start(ring, t1) {
    const first = ring.length ? ring[0].t : t1;
    return Math.max(t1 - WINDOW_S, Math.min(t1 - 60, first));
  }

  /* The lag groups of the samples, in first-seen order. */
  function groups(samples) {
    const out = [];
    samples.forEach(function (s) {
      Object.keys(s.lag || {}).forEach(function (g) { if (out.indexOf(g) < 0) out.push(g); });
    });
    return out;
  }

  const api = {
    WINDOW_S: WINDOW_S, MAX: MAX, SPAN_S: SPAN_S, GAP_S: GAP_S,
    push: push, merge: merge, rates: rates, niceMax: niceMax, maxOf: maxOf, scale: scale,
    line: line, area: area, marks: marks, label: label, groups: groups, start: start,
  };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.Series = api;
})(this);
