/* The dashboard's formatters: numbers, percentages, dimension figures, dates, periods,
 * forecasts and status labels, as text. Pure (no DOM, no fetch), so Node's test runner
 * checks them (format.test.mjs). Missing data is MISSING, never 0. */

/* What a missing figure reads as: never "0", which would say the value was zero. */
export const MISSING = "–";

export const DIMENSIONS = ["coverage", "expansion", "institutionalisation"];

export const DIMENSION_NAMES = {
  coverage: "Coverage",
  expansion: "Expansion",
  institutionalisation: "Institutionalisation",
};

/* Every status the API sends (progress, feeds, XmR variation and assurance, alert states),
 * as [icon, words]: a status is said in words, never by colour alone. */
export const STATUS = {
  on_track: ["✔", "On track"],
  behind: ["▼", "Behind"],
  at_risk: ["⚠", "At risk"],
  no_data: ["–", "No data"],
  reported: ["✔", "Reported"],
  partial: ["◐", "Partial"],
  late: ["✖", "Late"],
  pass: ["✔", "Consistently meets the target"],
  fail: ["✖", "Consistently misses the target"],
  hit_and_miss: ["≈", "Hit and miss: sometimes meets the target"],
  none: ["–", "No target"],
  improvement: ["▲", "Special cause: improvement"],
  concern: ["▼", "Special cause: concern"],
  neutral: ["◆", "Special cause: neutral"],
  common: ["●", "Common cause"],
  firing: ["!", "Firing"],
  pending: ["…", "Pending"],
  resolved: ["✔", "Resolved"],
  acknowledged: ["✓", "Acknowledged"],
  silenced: ["⏸", "Silenced"],
};

/* { kind, icon, text } of a status; an unknown kind is shown as itself with "?". */
export function statusLabel(kind) {
  const known = Object.hasOwn(STATUS, kind || "") ? STATUS[kind] : null;
  const name = kind || "unknown";
  return known ? { kind: name, icon: known[0], text: known[1] } : { kind: name, icon: "?", text: name };
}

export function isNum(v) {
  return typeof v === "number" && Number.isFinite(v);
}

/* A number with exactly `digits` decimals, grouped the British way ("1,234.5"). */
export function fmtNum(v, digits) {
  if (!isNum(v)) return MISSING;
  return v.toLocaleString("en-GB", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/* A count: whole when it is whole, else one decimal (a planned 2.6 sites). */
export function fmtCount(v) {
  if (!isNum(v)) return MISSING;
  return fmtNum(v, Number.isInteger(v) ? 0 : 1);
}

/* A fraction (0.5) as a percentage ("50.0 %"). */
export function fmtPercent(fraction, digits = 1) {
  return isNum(fraction) ? fmtNum(fraction * 100, digits) + " %" : MISSING;
}

/* An indicator's value with its unit: percentages with one decimal, counts whole, scores
 * out of 4, anything else with two decimals. indicator is the API's indicator object, or
 * null for a value of no indicator (a trajectory alert's). */
export function fmtValue(v, indicator) {
  if (!isNum(v)) return MISSING;
  const unit = (indicator && indicator.unit) || "";
  const type = indicator && indicator.value_type;
  if (type === "percentage" || unit === "%") return fmtNum(v, 1) + " %";
  if (type === "count") return fmtCount(v) + (unit ? " " + unit : "");
  if (type === "score") return fmtNum(v, 1) + " / 4";
  return fmtNum(v, 2) + (unit ? " " + unit : "");
}

/* A dimension's figure: coverage and institutionalisation are fractions shown as %,
 * expansion counts sites. */
export function fmtDimension(dimension, v) {
  if (!isNum(v)) return MISSING;
  if (dimension === "expansion") return fmtCount(v) + " sites";
  return fmtPercent(v);
}

/* A gap to plan with its sign: points for fractions, sites for expansion. */
export function fmtGap(dimension, v) {
  if (!isNum(v)) return MISSING;
  const sign = v > 0 ? "+" : v < 0 ? "−" : "±";
  if (dimension === "expansion") return sign + fmtNum(Math.abs(v), 1) + " sites";
  return sign + fmtNum(Math.abs(v) * 100, 1) + " points";
}

/* A Date from the API's "YYYY-MM-DD" (midnight UTC) or RFC 3339 text; null when it is not one. */
export function parseDate(s) {
  if (!s) return null;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? s + "T00:00:00Z" : s);
  return Number.isNaN(d.getTime()) ? null : d;
}

/* Seconds since the epoch (uPlot's time axis), or null. */
export function toTime(s) {
  const d = parseDate(s);
  return d ? d.getTime() / 1000 : null;
}

/* "20 Mar 2026"; text that is not a date is shown as it is. */
export function fmtDate(s) {
  const d = parseDate(s);
  if (!d) return s ? String(s) : MISSING;
  return d.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
}

/* "20 Mar 2026, 13:00 CET" in the IANA zone `timeZone` (the programme's, as its e-mails
 * write times), "20 Mar 2026, 12:00 UTC" without one or with one this browser does not know. */
export function fmtDateTime(s, timeZone = "UTC") {
  const d = parseDate(s);
  if (!d) return s ? String(s) : MISSING;
  const options = {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short",
  };
  try {
    return d.toLocaleString("en-GB", { ...options, timeZone: timeZone || "UTC" });
  } catch {
    return d.toLocaleString("en-GB", { ...options, timeZone: "UTC" });
  }
}

/* A period label as the API writes it: a month ("2026-02") reads "Feb 2026"; quarters
 * ("2025Q4"), years and weeks are shown as they are. */
export function fmtPeriod(label) {
  if (!label) return MISSING;
  const month = /^\d{4}-\d{2}$/.test(label) ? parseDate(label + "-01") : null;
  if (!month) return label;
  return month.toLocaleDateString("en-GB", { month: "short", year: "numeric", timeZone: "UTC" });
}

/* The label of the period of `periodType` that starts on `periodStart` (the feeds status
 * sends the start, not the label): "2026-02", "2025Q4", "2025", "week of 2 Feb 2026". */
export function periodLabel(periodType, periodStart) {
  const s = periodStart || "";
  if (!s) return MISSING;
  if (periodType === "monthly") return s.slice(0, 7);
  if (periodType === "quarterly") return s.slice(0, 4) + "Q" + (Math.floor((Number(s.slice(5, 7)) - 1) / 3) + 1);
  if (periodType === "yearly") return s.slice(0, 4);
  return "week of " + fmtDate(s);
}

/* When a dimension reaches its final target, from the API's forecast and forecast_basis:
 * basis.kind is reached, date (forecast is the date), not_at_this_rate or insufficient_data. */
export function forecastText(forecast, basis) {
  switch (basis.kind) {
  case "reached":
    return "final target reached";
  case "date":
    return "final target reached on " + fmtDate(forecast);
  case "not_at_this_rate":
    return "final target not at this rate";
  default:
    return "final target not enough data yet";
  }
}

/* The XmR signals of a point ("outside", "shift", "two_of_three") in words. */
export function fmtSignals(signals) {
  return signals.map((s) => s.replace(/_/g, " ")).join(", ") || MISSING;
}

/* What the direction of an indicator means for the chart's reader. */
export function directionText(direction) {
  if (direction === "up") return "higher is better";
  if (direction === "down") return "lower is better";
  return "neither way is better";
}

/* A silence's length in hours as a choice reads: "4 h", "3 d". */
export function fmtHours(hours) {
  return hours < 24 ? hours + " h" : hours / 24 + " d";
}
