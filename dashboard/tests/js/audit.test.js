// Pure rules of the auditor's panel (audit.js): the line, the note, the kinds.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const A = require("../../static/dashboard/audit.js");

const zero = {
  lost: 0, doubleCharged: 0, oversold: 0, duplicateNotices: 0, overdue: 0,
  wrongCharge: 0, stockLeak: 0, conflictingOutcomes: 0,
};
const audit = (counts, extra) => Object.assign(
  { orders: 12, pending: 2, counts: Object.assign({}, zero, counts), violations: [], stale: false },
  extra || {},
);

test("a clean audit reads as the five headline zeros", () => {
  assert.equal(A.line(audit({})), "0 lost · 0 double-charged · 0 oversold · 0 duplicate notices · 0 overdue");
  assert.equal(A.total(audit({})), 0);
  assert.equal(A.note(audit({})), "12 orders audited · 2 settling");
});

test("rarer kinds are shown only when not zero", () => {
  const a = audit({ doubleCharged: 1, wrongCharge: 1 });
  assert.equal(A.line(a), "0 lost · 1 double-charged · 0 oversold · 0 duplicate notices · 0 overdue · 1 wrong net charge");
  assert.equal(A.total(a), 2);
  assert.deepEqual(A.parts(a).filter((p) => p.count).map((p) => p.key), ["doubleCharged", "wrongCharge"]);
});

test("no audit yet shows dashes, and a silent auditor says so", () => {
  assert.equal(A.line(null), "– lost · – double-charged · – oversold · – duplicate notices · – overdue");
  assert.equal(A.note(null), "auditor not heard from yet");
  assert.match(A.note(audit({}, { stale: true, updatedAt: "T" })), /auditor silent \(last T\)/);
});

test("an order's kinds read as words", () => {
  assert.equal(A.kindsText(["double_charged", "wrong_charge"]), "double-charged, wrong net charge");
  assert.equal(A.kindsText(["something_new"]), "something_new");
});
