// The dashboard's formatters (format.js), run by Node's test runner: node --test web/js/
// (ctest's unit_web_format). Tables of input and expected text; missing is never 0.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  MISSING, STATUS, directionText, fmtCount, fmtDate, fmtDateTime, fmtDimension, fmtGap,
  fmtHours, fmtNum, fmtPercent, fmtPeriod, fmtSignals, fmtValue, forecastText, isNum,
  parseDate, periodLabel, statusLabel, toTime,
} from "./format.js";

const PERCENTAGE = { code: "bp_controlled_pct", unit: "%", value_type: "percentage" };
const COUNT = { code: "patients_enrolled", unit: "patients", value_type: "count" };
const SCORE = { code: "inst_fee_code", unit: "", value_type: "score" };
const RATE = { code: "visits_per_patient", unit: "visits", value_type: "rate" };

/* Each missing value the API can send (null, absent, not a number). */
const MISSING_VALUES = [null, undefined, NaN, Infinity, "12", ""];

function table(name, fn, rows) {
  test(name, () => {
    for (const [args, expected] of rows)
      assert.equal(fn(...args), expected, `${name}(${args.map((a) => JSON.stringify(a)).join(", ")})`);
  });
}

test("missing renders as missing, never as 0", () => {
  const formatters = [
    (v) => fmtNum(v, 1), fmtCount, fmtPercent, (v) => fmtValue(v, PERCENTAGE), (v) => fmtValue(v, COUNT),
    (v) => fmtValue(v, null), (v) => fmtDimension("coverage", v), (v) => fmtDimension("expansion", v),
    (v) => fmtGap("coverage", v), (v) => fmtGap("expansion", v),
  ];
  for (const f of formatters)
    for (const v of MISSING_VALUES) assert.equal(f(v), MISSING, `${f} of ${String(v)}`);
  assert.equal(MISSING, "–");
  assert.equal(fmtDate(null), MISSING);
  assert.equal(fmtDateTime(undefined), MISSING);
  assert.equal(fmtPeriod(null), MISSING);
  assert.equal(periodLabel("monthly", null), MISSING);
  assert.equal(fmtSignals([]), MISSING);
});

test("a real zero is shown as zero", () => {
  assert.equal(fmtNum(0, 1), "0.0");
  assert.equal(fmtCount(0), "0");
  assert.equal(fmtPercent(0), "0.0 %");
  assert.equal(fmtValue(0, PERCENTAGE), "0.0 %");
  assert.equal(fmtDimension("expansion", 0), "0 sites");
  assert.equal(fmtGap("coverage", 0), "±0.0 points");
});

table("isNum", isNum, [[[0], true], [[-1.5], true], [[null], false], [[NaN], false], [["1"], false]]);

table("fmtNum", fmtNum, [
  [[1234.56, 1], "1,234.6"],
  [[1234.56, 0], "1,235"],
  [[0.5, 2], "0.50"],
  [[-3, 1], "-3.0"],
]);

table("fmtCount", fmtCount, [[[4], "4"], [[2.6], "2.6"], [[12000], "12,000"]]);

table("fmtPercent", fmtPercent, [
  [[0.357], "35.7 %"],
  [[1], "100.0 %"],
  [[0.5, 0], "50 %"],
]);

table("fmtValue", fmtValue, [
  [[44, PERCENTAGE], "44.0 %"],
  [[56.66667, PERCENTAGE], "56.7 %"],
  [[340, COUNT], "340 patients"],
  [[340.5, COUNT], "340.5 patients"],
  [[2, SCORE], "2.0 / 4"],
  [[1.234, RATE], "1.23 visits"],
  [[0.356, null], "0.36"],
]);

table("fmtDimension", fmtDimension, [
  [["coverage", 0.357], "35.7 %"],
  [["institutionalisation", 0.41666], "41.7 %"],
  [["expansion", 4], "4 sites"],
  [["expansion", 3.1], "3.1 sites"],
]);

table("fmtGap", fmtGap, [
  [["coverage", 0.175], "+17.5 points"],
  [["coverage", -0.02], "−2.0 points"],
  [["expansion", 0.9], "+0.9 sites"],
  [["expansion", -1], "−1.0 sites"],
]);

test("parseDate and toTime read dates as UTC midnight and RFC 3339 times", () => {
  assert.equal(parseDate("2026-03-20").toISOString(), "2026-03-20T00:00:00.000Z");
  assert.equal(parseDate("2026-03-20T12:00:00+01:00").toISOString(), "2026-03-20T11:00:00.000Z");
  assert.equal(parseDate("not a date"), null);
  assert.equal(parseDate(""), null);
  assert.equal(toTime("1970-01-02"), 86400);
  assert.equal(toTime(null), null);
});

table("fmtDate", fmtDate, [
  [["2026-03-20"], "20 Mar 2026"],
  [["2026-03-20T23:30:00-02:00"], "21 Mar 2026"],
  [["2025Q4"], "2025Q4"],
]);

table("fmtDateTime", fmtDateTime, [
  [["2026-03-20T12:00:00+00:00"], "20 Mar 2026, 12:00 UTC"],
  [["2026-03-20T12:00:00.123456+01:00"], "20 Mar 2026, 11:00 UTC"],
  /* the programme's zone, as its e-mails write times; summer time too */
  [["2026-03-20T12:00:00Z", "Europe/Brussels"], "20 Mar 2026, 13:00 CET"],
  [["2026-07-20T12:00:00Z", "Europe/Brussels"], "20 Jul 2026, 14:00 CEST"],
  [["2026-03-20T12:00:00Z", "Not/AZone"], "20 Mar 2026, 12:00 UTC"],
  [["2026-03-20T12:00:00Z", null], "20 Mar 2026, 12:00 UTC"],
]);

table("fmtPeriod", fmtPeriod, [
  [["2026-02"], "Feb 2026"],
  [["2025-12"], "Dec 2025"],
  [["2025Q4"], "2025Q4"],
  [["2025"], "2025"],
  [["2026W05"], "2026W05"],
  [["2026-13"], "2026-13"],
]);

table("periodLabel", periodLabel, [
  [["monthly", "2026-02-01"], "2026-02"],
  [["quarterly", "2025-10-01"], "2025Q4"],
  [["quarterly", "2025-01-01"], "2025Q1"],
  [["yearly", "2025-01-01"], "2025"],
  [["weekly", "2026-02-02"], "week of 2 Feb 2026"],
]);

table("forecastText", forecastText, [
  [["2026-08-16", { kind: "date" }], "final target reached on 16 Aug 2026"],
  [["reached", { kind: "reached" }], "final target reached"],
  [["not at this rate", { kind: "not_at_this_rate" }], "final target not at this rate"],
  [[null, { kind: "insufficient_data" }], "final target not enough data yet"],
]);

test("every status has an icon and words; an unknown one is shown as itself", () => {
  for (const [kind, [icon, text]] of Object.entries(STATUS)) {
    assert.deepEqual(statusLabel(kind), { kind, icon, text });
    assert.ok(text.length > 1 && !text.includes("_"), kind);
  }
  assert.deepEqual(statusLabel("on_track"), { kind: "on_track", icon: "✔", text: "On track" });
  assert.deepEqual(statusLabel("odd_state"), { kind: "odd_state", icon: "?", text: "odd_state" });
  assert.deepEqual(statusLabel(null), { kind: "unknown", icon: "?", text: "unknown" });
  assert.deepEqual(statusLabel("toString"), { kind: "toString", icon: "?", text: "toString" });
});

table("fmtSignals", fmtSignals, [[[["outside", "two_of_three"]], "outside, two of three"]]);
table("directionText", directionText, [[["up"], "higher is better"], [["down"], "lower is better"], [["neither"], "neither way is better"]]);
table("fmtHours", fmtHours, [[[1], "1 h"], [[4], "4 h"], [[24], "1 d"], [[168], "7 d"]]);
