// Pure rules of the first screen (first.js): rates, map node states, frame batching.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const F = require("../../static/dashboard/first.js");

const K = (accepted, completed, cancelled) => ({ accepted, completed, cancelled });

test("rates are the totals' differences over the time between readings", () => {
  const r = F.rates({ at: 0, kpis: K(10, 5, 1) }, { at: 2000, kpis: K(30, 15, 3) });
  assert.deepEqual(r, { accepted: 10, decided: 6 });
  assert.equal(F.rates(null, { at: 1, kpis: K(1, 0, 0) }), null);
  assert.equal(F.rates({ at: 0, kpis: K(9, 0, 0) }, { at: 1000, kpis: K(1, 0, 0) }), null);
});

const group = (members, lag, state) => ({ members: Array(members).fill({}), lag, state: state || "Stable" });
const procs = (states) => ({
  processes: states.map((s) => ({ state: s, restarts: 0 })),
  running: states.filter((s) => s === "running").length,
  restarts: 2,
});

test("a service is up, amber while lagging or restarting, red when stopped", () => {
  assert.equal(F.node(group(2, 0), procs(["running", "running"])).state, "up");
  assert.equal(F.node(group(1, F.LAGGING + 1)).state, "lagging");
  assert.equal(F.node(group(1, 0, "PreparingRebalance")).state, "lagging");
  assert.equal(F.node(group(1, 0), procs(["running", "restarting"])).state, "lagging");
  assert.equal(F.node(group(2, 0), procs(["running", "starting"])).state, "lagging");
  assert.equal(F.node(group(2, 0), procs(["running", "paused"])).state, "lagging");
  // A killed worker's replacement runs but is not ready yet; a paused one does nothing.
  assert.equal(F.node(group(1, 0), procs(["starting"])).state, "down");
  assert.equal(F.node(group(1, 0), procs(["paused"])).state, "down");
  assert.equal(F.node(group(0, 0)).state, "down");
  assert.equal(F.node(group(1, 0), procs(["stopped"])).state, "down");
  assert.equal(F.node(group(1, 0), procs(["running", "crash-looping"])).state, "down");
  assert.equal(F.node(undefined, undefined).state, "unknown");
});

test("a node's figures: workers from the processes, lag from the group", () => {
  const n = F.node(group(1, 3), procs(["running", "running"]));
  assert.deepEqual(n, { state: "up", workers: 2, lag: 3, restarts: 2 });
  assert.equal(F.nodeText(n), "2 workers · lag 3 · ↻ 2");
  assert.equal(F.nodeText(F.node(group(1, 0))), "1 worker · lag 0");
  assert.equal(F.nodeText(F.node(undefined, undefined)), "–");
});

test("durations read as ms or s", () => {
  assert.equal(F.ms(12.4), "12 ms");
  assert.equal(F.ms(1450), "1.4 s");
  assert.equal(F.ms(null), "–");
});

test("many marks in one frame flush once", () => {
  const frames = [];
  let flushed = 0;
  const mark = F.batcher((fn) => frames.push(fn), () => { flushed += 1; });
  mark(); mark(); mark();
  assert.equal(frames.length, 1);
  frames.shift()();
  assert.equal(flushed, 1);
  mark();
  assert.equal(frames.length, 1);
});
