// Pure rules of the charts (series.js): the ring, rates, scales, paths, markers.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const S = require("../../static/dashboard/series.js");

const sample = (t, accepted, completed, cancelled) => ({ t, accepted, completed, cancelled, lag: {} });

test("the ring keeps the window and the bound, and ignores old or repeated samples", () => {
  let ring = [];
  for (let t = 0; t <= 600; t += 1.5) ring = S.push(ring, sample(t, t, 0, 0), 300, 400);
  assert.equal(ring[ring.length - 1].t, 600);
  assert.ok(ring[0].t >= 300 && ring.length <= 201);
  assert.equal(S.push(ring, sample(599, 0, 0, 0)), ring);
  assert.equal(S.push(ring, null), ring);
  let small = [];
  for (let t = 0; t < 10; t++) small = S.push(small, sample(t, 0, 0, 0), 300, 4);
  assert.deepEqual(small.map((s) => s.t), [6, 7, 8, 9]);
});

test("a loaded history merges with what the socket brought, in time order", () => {
  const ring = [sample(10, 0, 0, 0), sample(13, 0, 0, 0)];
  const merged = S.merge(ring, [sample(7, 0, 0, 0), sample(10, 0, 0, 0), sample(11.5, 0, 0, 0)]);
  assert.deepEqual(merged.map((s) => s.t), [7, 10, 11.5, 13]);
});

test("rates are totals' differences over the trailing span, by outcome", () => {
  const samples = [sample(0, 0, 0, 0), sample(3, 30, 12, 3), sample(6, 60, 30, 6)];
  const r = S.rates(samples, 6);
  assert.equal(r.length, 2);
  assert.deepEqual(r[0], { t: 3, accepted: 10, completed: 4, cancelled: 1, decided: 5 });
  assert.deepEqual(r[1], { t: 6, accepted: 10, completed: 5, cancelled: 1, decided: 6 });
  const wiped = S.rates([sample(0, 50, 40, 5), sample(2, 0, 0, 0)], 6);
  assert.equal(wiped[0].accepted, null);
  assert.equal(wiped[0].decided, null);
  const gap = S.rates([sample(0, 0, 0, 0), sample(60, 10, 10, 0)], 6);
  assert.equal(gap[0].accepted, null);
});

test("axis tops are 1, 2 or 5 times a power of ten", () => {
  assert.deepEqual([0, 0.3, 1, 1.2, 3, 7, 10, 11, 480, 1001].map(S.niceMax), [1, 1, 1, 2, 5, 10, 10, 20, 500, 2000]);
});

test("lines break at nulls and gaps; areas close", () => {
  const x = S.scale(0, 10, 0, 100);
  const y = S.scale(0, 10, 50, 0);
  const pts = [{ t: 0, v: 0 }, { t: 1, v: 10 }, { t: 2, v: null }, { t: 3, v: 5 }, { t: 4, v: 5 }];
  assert.equal(S.line(pts, "v", x, y), "M0,50 L10,0 M30,25 L40,25");
  assert.equal(S.line([{ t: 0, v: 1 }, { t: 100, v: 1 }], "v", S.scale(0, 100, 0, 100), y), "M0,45 M100,45");
  const a = S.area(pts.slice(0, 2), () => 0, (p) => p.v, x, y);
  assert.equal(a, "M0,50 L10,0 L10,50 L0,50 Z");
});

test("markers are the actions in view, each once, with a label", () => {
  const acts = [
    { t: 5, action: "kill", target: "payment" },
    { t: 5, action: "kill", target: "payment" },
    { t: 1, action: "scale", target: "payment", count: 2 },
    { t: 50, action: "pause", target: "saga" },
  ];
  const m = S.marks(acts, 0, 10);
  assert.deepEqual(m.map(S.label), ["scale payment → 2", "kill payment"]);
});

test("the lag groups come in first-seen order", () => {
  assert.deepEqual(S.groups([{ lag: { payment: 1 } }, { lag: { saga: 0, payment: 2 } }]), ["payment", "saga"]);
});

test("the time axis spans the ring, a minute at least, five minutes at most", () => {
  assert.equal(S.start([], 1000), 940);
  assert.equal(S.start([{ t: 990 }], 1000), 940);
  assert.equal(S.start([{ t: 800 }], 1000), 800);
  assert.equal(S.start([{ t: 100 }], 1000), 700);
});
