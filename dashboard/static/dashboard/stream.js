/* Pure rules of the live feed: change versions, gaps, heartbeats, backoff, order rows.
   No DOM and no I/O, so Node's test runner checks them (dashboard/tests/js). */
(function (root) {
  "use strict";

  /* Feed state: the last version applied (null while a snapshot loads) and a version a
     heartbeat announced that has not arrived yet. */
  function start(version) {
    return { applied: version, suspect: null };
  }

  /* What to do with a change of `version`: "buffer" (snapshot loading), "stale" (the
     snapshot already holds it), "apply" (the next one), "gap" (one went missing). */
  function classify(state, version) {
    if (state.applied === null) return "buffer";
    if (version <= state.applied) return "stale";
    if (version === state.applied + 1) return "apply";
    return "gap";
  }

  function advance(state, version) {
    const suspect = state.suspect !== null && state.suspect > version ? state.suspect : null;
    return { applied: version, suspect: suspect };
  }

  /* The monitor's status carries the newest version. The change itself may still be on
     its way, so a version ahead of ours is only suspect; still missing at the next
     heartbeat, it was lost (e.g. the last change of a burst): resync. */
  function heartbeat(state, version) {
    if (state.applied === null || version <= state.applied) {
      return { state: { applied: state.applied, suspect: null }, resync: false };
    }
    if (state.suspect !== null && state.applied < state.suspect) {
      return { state: state, resync: true };
    }
    return { state: { applied: state.applied, suspect: version }, resync: false };
  }

  /* Milliseconds before reconnect attempt `attempt` (0, 1, ...): doubling from 500 ms up
     to 15 s, with `random` in [0, 1) spreading it between half and all of that. */
  function backoff(attempt, random) {
    const ceiling = Math.min(15000, 500 * Math.pow(2, attempt));
    return Math.round(ceiling * (0.5 + random / 2));
  }

  /* Rows newest first (createdAt), at most `limit`; `order` replaces its old row. */
  function upsert(rows, order, limit) {
    const others = rows.filter(function (r) { return r.orderId !== order.orderId; });
    others.push(order);
    others.sort(function (a, b) {
      if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
      return a.orderId < b.orderId ? -1 : 1;
    });
    return others.slice(0, limit);
  }

  function matches(order, filter) {
    if (filter.status && order.status !== filter.status) return false;
    const text = (filter.text || "").trim().toLowerCase();
    if (!text) return true;
    return (order.orderId + " " + order.userId).toLowerCase().indexOf(text) >= 0;
  }

  const api = {
    start: start, classify: classify, advance: advance, heartbeat: heartbeat,
    backoff: backoff, upsert: upsert, matches: matches,
  };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.Stream = api;
})(this);
