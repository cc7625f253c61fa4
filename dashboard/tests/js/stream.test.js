// Pure rules of the live feed (stream.js): versions, gaps, heartbeats, backoff, rows.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const S = require("../../static/dashboard/stream.js");

test("changes buffer while the snapshot loads", () => {
  assert.equal(S.classify(S.start(null), 5), "buffer");
});

test("the next version applies, older ones are stale, a jump is a gap", () => {
  const state = S.start(4);
  assert.equal(S.classify(state, 5), "apply");
  assert.equal(S.classify(state, 4), "stale");
  assert.equal(S.classify(state, 2), "stale");
  assert.equal(S.classify(state, 7), "gap");
  assert.deepEqual(S.advance(state, 5), { applied: 5, suspect: null });
});

test("a heartbeat ahead is suspect once, and a resync the second time", () => {
  let beat = S.heartbeat(S.start(4), 6);
  assert.equal(beat.resync, false);
  assert.equal(beat.state.suspect, 6);
  beat = S.heartbeat(beat.state, 6);
  assert.equal(beat.resync, true);
});

test("a heartbeat ahead is forgiven when the change arrives in time", () => {
  let beat = S.heartbeat(S.start(4), 5);
  const state = S.advance(beat.state, 5);
  assert.equal(state.suspect, null);
  beat = S.heartbeat(state, 5);
  assert.equal(beat.resync, false);
});

test("reconnects back off, doubling up to 15 s, with jitter", () => {
  assert.equal(S.backoff(0, 0), 250);
  assert.equal(S.backoff(0, 1), 500);
  assert.equal(S.backoff(3, 1), 4000);
  assert.equal(S.backoff(20, 1), 15000);
});

test("rows stay newest first, unique, limited", () => {
  let rows = [];
  rows = S.upsert(rows, { orderId: "a", createdAt: "2026-01-01T00:00:01Z", status: "PENDING" }, 2);
  rows = S.upsert(rows, { orderId: "b", createdAt: "2026-01-01T00:00:02Z", status: "PENDING" }, 2);
  rows = S.upsert(rows, { orderId: "a", createdAt: "2026-01-01T00:00:01Z", status: "COMPLETED" }, 2);
  assert.deepEqual(rows.map((r) => r.orderId + ":" + r.status), ["b:PENDING", "a:COMPLETED"]);
  rows = S.upsert(rows, { orderId: "c", createdAt: "2026-01-01T00:00:03Z", status: "PENDING" }, 2);
  assert.deepEqual(rows.map((r) => r.orderId), ["c", "b"]);
});

test("filters by status and by text in the order or customer id", () => {
  const order = { orderId: "abc-1", userId: "alice", status: "COMPLETED" };
  assert.ok(S.matches(order, { status: "", text: "" }));
  assert.ok(S.matches(order, { status: "COMPLETED", text: "ALI" }));
  assert.ok(!S.matches(order, { status: "PENDING", text: "" }));
  assert.ok(!S.matches(order, { status: "", text: "bob" }));
});
