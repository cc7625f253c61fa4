/* Pure rules of the first screen: rates from two monitor readings, a service's colour on
   the map, the figures of a map node, and a per-animation-frame batcher. No DOM, so
   Node's test runner checks them (dashboard/tests/js). */
(function (root) {
  "use strict";

  /* Lag (records) above which a consuming service is amber. */
  const LAGGING = 100;

  /* Orders/s accepted and decided between two KPI readings {at (ms), kpis}; null until
     there are two, or when the totals went down (a wiped read model). */
  function rates(prev, curr) {
    if (!prev || !curr || !prev.kpis || !curr.kpis) return null;
    const dt = (curr.at - prev.at) / 1000;
    if (dt <= 0) return null;
    const decided = function (k) { return k.completed + k.cancelled; };
    const accepted = curr.kpis.accepted - prev.kpis.accepted;
    const done = decided(curr.kpis) - decided(prev.kpis);
    if (accepted < 0 || done < 0) return null;
    return { accepted: accepted / dt, decided: done / dt };
  }

  /* A service on the map: its consumer group view (or undefined), its local processes
     ({processes, running, restarts}, or undefined when the platform runs elsewhere);
     none running (killed, paused, not ready yet) is down, some is lagging.
     -> {state: up | lagging | down | unknown, workers, lag, restarts} */
  function node(group, procs) {
    const out = { state: "unknown", workers: null, lag: null, restarts: procs ? procs.restarts : null };
    if (group) {
      out.workers = group.members.length;
      out.lag = group.lag;
    }
    if (procs) out.workers = procs.running;
    const states = procs ? procs.processes.map(function (p) { return p.state; }) : [];
    if ((procs && procs.running === 0) || (group && group.members.length === 0) ||
        states.indexOf("crash-looping") >= 0) {
      out.state = "down";
    } else if ((out.lag !== null && out.lag > LAGGING) || (group && group.state !== "Stable") ||
               ["restarting", "starting", "paused"].some(function (s) { return states.indexOf(s) >= 0; })) {
      out.state = "lagging";
    } else if (group || procs) {
      out.state = "up";
    }
    return out;
  }

  /* The text of a node's second line: "2 workers · lag 0 · ↻ 1". */
  function nodeText(n) {
    const parts = [];
    if (n.workers !== null) parts.push(n.workers + (n.workers === 1 ? " worker" : " workers"));
    if (n.lag !== null) parts.push("lag " + n.lag);
    if (n.restarts) parts.push("↻ " + n.restarts);
    return parts.join(" · ") || "–";
  }

  /* "12 ms", "1.4 s", or "–". */
  function ms(value) {
    if (value === null || value === undefined) return "–";
    return value < 1000 ? Math.round(value) + " ms" : (value / 1000).toFixed(1) + " s";
  }

  /* Calls `flush` once per animation frame however many times `mark` ran before it;
     `schedule` is requestAnimationFrame in a page. */
  function batcher(schedule, flush) {
    let pending = false;
    return function mark() {
      if (pending) return;
      pending = true;
      schedule(function () {
        pending = false;
        flush();
      });
    };
  }

  const api = { LAGGING: LAGGING, rates: rates, node: node, nodeText: nodeText, ms: ms, batcher: batcher };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.First = api;
})(this);
