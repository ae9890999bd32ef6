/* Alerts: the programme's open incidents (alerts with one cause: a practice's late feeds of a
 * due period, an indicator's signals in a region while they last) with their members, one
 * acknowledgement and one silence for all, the open alerts with since when, acknowledging and silencing them
 * (an admin token is needed for that), the active silences, and the alerts resolved in the
 * last 30 days. The daemon sends its lists a page at a time (newest first): the view shows
 * the pages loaded so far and a "Show more" control while the daemon has more, so nothing
 * is left out without saying so. */
import {
  ApiError, ackAlert, ackIncident, createSilence, expireSilence, getAlert, getIncident, listAlerts,
  listIncidents, listSilences,
} from "../api.js";
import { badge, h, table, th } from "../dom.js";
import { MISSING, fmtDate, fmtDateTime, fmtHours, fmtPeriod, fmtValue, isNum, parseDate } from "../format.js";
import { render, useProgramme } from "../router.js";
import { indicatorOf, siteName, state, timeZone } from "../state.js";

const AUTHOR_KEY = "scaleupd.author";
const SILENCE_HOURS = [1, 4, 24, 72, 168];
const RESOLVED_DAYS = 30;

/* The name this browser acts as, as typed in "Acting as", or "" when none was typed: an
 * acknowledgement then records the token's name. */
function actingAs() {
  return localStorage.getItem(AUTHOR_KEY) || "";
}

/* Who silences from this browser (a silence needs an author): "dashboard" when no name was
 * typed. */
function author() {
  return actingAs() || "dashboard";
}

/* The alert's summary, and where it applies: indicator, site, rule, period. */
function alertWhat(a) {
  const ind = indicatorOf(a.indicator);
  const where = [ind ? ind.name : a.indicator, a.site ? siteName(a.site) : null, "rule " + a.rule,
    a.period ? "period " + fmtDate(a.period) : null].filter(Boolean).join(" — ");
  return [a.summary || a.rule, where]; /* summary is "" when the rule wrote none */
}

/* The value that fired it, with the limits; none for alerts about missing data. */
function alertValue(a) {
  if (!isNum(a.value) || a.kind === "late_feed" || a.kind === "completeness" || a.state === "no_data") return MISSING;
  /* the roadmap's trajectory: its figures as the evaluation wrote them last, with their unit
     (a share, sites or regions): the value column keeps an earlier evaluation's figure when the
     last one had none, and expansion's may be its regions' */
  if (a.kind === "trajectory")
    return a.summary && a.summary.includes(": ") ? programmeWideFigures(a.summary) : MISSING;
  const ind = indicatorOf(a.indicator);
  const limits = isNum(a.lower_limit) && isNum(a.upper_limit)
    ? ` (limits ${fmtValue(a.lower_limit, ind)} – ${fmtValue(a.upper_limit, ind)})` : "";
  return fmtValue(a.value, ind) + limits;
}

/* Why a write failed: refused without a token or to one that may not write, it needs an
 * admin token (the token dialog has opened to ask for one). */
function refused(err, what) {
  return err instanceof ApiError && (err.code === "unauthenticated" || err.code === "forbidden")
    ? `Only an admin token may ${what}: paste one in the token dialog.` : `Could not ${what}: ` + err.message;
}

/* Acknowledges as the name this browser acts as (the token's name when none was typed), with
 * the comment typed (if any). */
function ackButton(a, msg, comment) {
  const acked = Boolean(a.acked_at);
  const button = h("button", { type: "button", "data-action": "ack", disabled: acked,
    onclick: async () => {
      button.disabled = true;
      try {
        await ackAlert(a.id, actingAs(), comment.value.trim());
        msg.textContent = "Acknowledged.";
        render();
      } catch (err) {
        button.disabled = false;
        msg.textContent = refused(err, "acknowledge");
      }
    } }, acked ? "Acknowledged" : "Acknowledge");
  return button;
}

/* The silence of an alert: its indicator, site and rule (equality matchers), from the
 * daemon's now (not this browser's clock) for the chosen hours. */
function silenceOf(a, hours, reason) {
  const matchers = Object.entries({ indicator: a.indicator, site: a.site, rule: a.rule })
    .filter(([, v]) => typeof v === "string" && v !== "").map(([name, value]) => ({ name, value }));
  return {
    programme: a.programme, matchers,
    duration: hours + "h",
    author: author(), reason: reason || "silenced from the dashboard",
  };
}

function alertActions(a) {
  const msg = h("span", { class: "small muted", role: "status" });
  const hours = h("select", { "aria-label": "silence for" }, SILENCE_HOURS.map((n) => h("option", { value: n }, fmtHours(n))));
  const reason = h("input", { type: "text", placeholder: "reason / comment", "aria-label": "reason", size: 14 });
  const silence = h("button", { type: "button", class: "ghost", "data-action": "silence", onclick: async () => {
    try {
      await createSilence(silenceOf(a, Number(hours.value), reason.value));
      msg.textContent = "Silenced.";
      render();
    } catch (err) {
      msg.textContent = refused(err, "silence");
    }
  } }, "Silence");
  return h("div", { class: "inline-form" }, ackButton(a, msg, reason), hours, reason, silence, msg);
}

/* A status shown in words with its icon, as badge() does, for what format.js has no word for. */
function tag(kind, icon, text) {
  return h("span", { class: "status " + kind, "data-status": kind }, h("span", { "aria-hidden": "true" }, icon), text);
}

const INCIDENT_KINDS = { late_feed: ["✖", "Late feed"], signal: ["▼", "Signal"], alert: ["!", "Alert"] };

function kindTag(kind) {
  const [icon, text] = INCIDENT_KINDS[kind] || ["?", kind];
  return tag("incident-" + kind, icon, text);
}

/* What a member of an incident is about, less what the incident's title says already: a late
 * feed's indicator (the practice is the incident's), a signal's practice or the region's
 * aggregate (the indicator is the incident's), else both; for an alert about the whole
 * programme (the roadmap's trajectory, a receiver), its figures as they stand now, which the
 * title, fixed when the incident opened, leaves out ("26.6 % actual, 28.8 % planned"). */
function memberLabel(m, kind) {
  const ind = indicatorOf(m.indicator);
  const what = ind ? ind.name : m.indicator;
  const where = m.site ? siteName(m.site) + (m.aggregate ? " (aggregate)" : "") : null;
  if (kind === "late_feed") return what || MISSING;
  if (kind === "signal") return where || MISSING;
  if (!what && !where && m.summary) return programmeWideFigures(m.summary);
  return [what, where].filter(Boolean).join(" at ") || m.rule;
}

/* The part of a summary after its first ": ", else the whole summary. */
function programmeWideFigures(summary) {
  const cut = summary.indexOf(": ");
  return cut >= 0 ? summary.slice(cut + 2) : summary;
}

/* One member of an incident: what it is about, its state, and whether it is acknowledged or
 * silenced. */
function memberItem(m, kind) {
  return h("li", { "data-member": m.id, "data-state": m.state }, memberLabel(m, kind), " ", badge(m.state),
    m.acked_at ? [" ", badge("acknowledged", m.acked_by ? "by " + m.acked_by : "")] : null,
    m.silenced ? [" ", tag("silenced", "🔕", "Silenced")] : null);
}

/* The period an incident is about; a late feed's due date with it. */
function incidentPeriod(n) {
  return [fmtPeriod(n.period), n.due ? h("span", { class: "muted small" }, h("br"), "due " + fmtDate(n.due)) : null];
}

/* The matchers of exactly an incident's members (docs/ARCHITECTURE.md, "Incidents"), all
 * equality but the rule kinds when there are several: a late feed's practice (its site) and
 * kind; a signal's indicator, its region (the region label covers the region's practices and
 * its own aggregate, also those that join the incident later) and the members' kinds (spc,
 * threshold); an incident of one alert, that alert's indicator, site and rule. */
function incidentMatchers(n) {
  const kinds = [...new Set(n.members.map((m) => m.kind))].sort();
  const kind = kinds.length === 1 ? { name: "kind", value: kinds[0] }
    : { name: "kind", value: kinds.join("|"), isRegex: true };
  if (n.kind === "late_feed") return [{ name: "site", value: n.site }, kind];
  if (n.kind === "signal") return [{ name: "indicator", value: n.indicator }, { name: "region", value: n.site }, kind];
  const m = n.members[0] || {};
  return Object.entries({ indicator: m.indicator, site: m.site, rule: m.rule })
    .filter(([, v]) => typeof v === "string" && v !== "").map(([name, value]) => ({ name, value }));
}

/* "Silence this incident" for the hours chosen, with the comment typed as its reason and the
 * "Acting as" name as its author. */
function silenceIncidentButton(n, hours, comment, msg) {
  return h("button", { type: "button", class: "ghost", "data-action": "silence-incident", onclick: async () => {
    try {
      await createSilence({ programme: n.programme, matchers: incidentMatchers(n), duration: Number(hours.value) + "h",
        author: author(), reason: comment.value.trim() || "incident " + n.id + " silenced from the dashboard" });
      msg.textContent = "Silenced.";
      render();
    } catch (err) {
      msg.textContent = refused(err, "silence");
    }
  } }, "Silence this incident");
}

function ackIncidentButton(n, msg, comment) {
  const button = h("button", { type: "button", "data-action": "ack-incident", disabled: n.acked,
    onclick: async () => {
      button.disabled = true;
      try {
        const done = await ackIncident(n.id, actingAs(), comment.value.trim());
        msg.textContent = `Acknowledged ${done.acked.length} alert${done.acked.length === 1 ? "" : "s"}.`;
        render();
      } catch (err) {
        button.disabled = false;
        msg.textContent = refused(err, "acknowledge");
      }
    } }, n.acked ? "Acknowledged" : "Acknowledge all");
  return button;
}

/* An open incident's actions: acknowledge every open member, or silence them all for a
 * while (not offered when every open member is silenced already: the silence is shown); the
 * comment goes with either. */
function incidentActions(n) {
  const msg = h("span", { class: "small muted", role: "status" });
  if (n.state !== "open") return msg; /* nothing open to acknowledge or silence */
  const comment = h("input", { type: "text", placeholder: "comment", "aria-label": "comment on the incident", size: 14 });
  if (n.silenced) return h("div", { class: "inline-form" }, ackIncidentButton(n, msg, comment), comment, msg);
  const hours = h("select", { "aria-label": "silence the incident for" }, SILENCE_HOURS.map((x) => h("option", { value: x }, fmtHours(x))));
  return h("div", { class: "inline-form" }, ackIncidentButton(n, msg, comment), hours, comment,
    silenceIncidentButton(n, hours, comment, msg), msg);
}

function incidentRow(n) {
  const open = n.members.filter((m) => m.state !== "resolved" && m.state !== "inactive");
  return h("tr", { "data-incident": n.id, "data-kind": n.kind },
    h("td", {}, kindTag(n.kind), n.acked ? [" ", badge("acknowledged")] : null,
      n.silenced ? [" ", tag("silenced", "🔕", "Silenced")] : null),
    h("td", {}, h("strong", {}, n.title),
      h("br"), h("span", { class: "muted small" }, `${open.length} open of ${n.members.length} alert${n.members.length === 1 ? "" : "s"}`),
      h("ul", { class: "members small" }, n.members.map((m) => memberItem(m, n.kind)))),
    h("td", {}, incidentPeriod(n)),
    h("td", {}, fmtDateTime(n.since, timeZone())),
    h("td", {}, incidentActions(n)));
}

function openRow(a) {
  const [what, where] = alertWhat(a);
  return h("tr", { "data-alert": a.id, "data-state": a.state },
    h("td", {}, badge(a.state), a.acked_at ? [" ", badge("acknowledged", ackedBy(a))] : null,
      a.silenced_by && a.silenced_by.length ? [" ", badge("silenced", "by silence " + a.silenced_by.join(", "))] : null),
    h("td", {}, h("strong", {}, what), h("br"), h("span", { class: "muted small" }, where)),
    h("td", {}, fmtDateTime(a.active_since, timeZone())),
    h("td", {}, alertValue(a)),
    h("td", {}, alertActions(a)));
}

/* A resolved alert: updated_at is when it resolved (nothing changes it after that). */
function resolvedRow(a) {
  const [what, where] = alertWhat(a);
  return h("tr", { "data-alert": a.id }, h("td", {}, badge("resolved")),
    h("td", {}, what, h("br"), h("span", { class: "muted small" }, where)),
    h("td", {}, fmtDateTime(a.active_since, timeZone())), h("td", {}, fmtDateTime(a.updated_at, timeZone())));
}

/* Who acknowledged, and why when they said. */
function ackedBy(a) {
  return a.acked_by ? "by " + a.acked_by + (a.ack_comment ? ": " + a.ack_comment : "") : "";
}

/* A silence's matchers as amtool writes them: region=BE-WAL, indicator=~bp_.* */
function matchersText(matchers) {
  if (!Array.isArray(matchers)) return JSON.stringify(matchers);
  return matchers.map((m) => m.name + (m.isEqual === false ? "!" : "=") + (m.isRegex ? "~" : "") + m.value).join(", ");
}

function silenceRow(s) {
  return h("tr", { "data-silence": s.id },
    h("td", {}, matchersText(s.matchers)), h("td", {}, fmtDateTime(s.starts_at, timeZone())), h("td", {}, fmtDateTime(s.ends_at, timeZone())),
    h("td", {}, s.author + (s.reason ? ": " + s.reason : "")),
    h("td", {}, h("button", { type: "button", class: "ghost", onclick: async () => {
      try {
        await expireSilence(s.id);
        render();
      } catch (err) {
        alert(refused(err, "expire a silence"));
      }
    } }, "Expire")));
}

/* How many pages of each list the view loads: one at first, one more per "Show more"; kept
 * across the re-renders after an acknowledgement or a silence, reset for another
 * programme. */
const loaded = { programme: null, alerts: 1, silences: 1, incidents: 1 };

/* The "Show more" control of a list that has more pages, and a note that says so. */
function moreControl(which, note) {
  return h("p", { class: "small muted", "data-more": which }, note + " ",
    h("button", { type: "button", class: "ghost", "data-action": "more-" + which, onclick: () => {
      loaded[which] += 1;
      render();
    } }, "Show more"));
}

/* What a link from an e-mail or a webhook names (?incident=N or ?alert=N, with
 * &programme=P): that incident or alert on its own above the lists, whatever its state. */
async function linked(params) {
  const incident = params.get("incident"), alert = params.get("alert");
  if (!incident && !alert) return null;
  try {
    let heads, row;
    if (incident) {
      heads = ["Kind", "What", "Period", "Since", "Action"];
      row = incidentRow(await getIncident(incident));
    } else {
      const a = await getAlert(alert);
      heads = a.state === "resolved" ? ["State", "What", "Since", "Resolved"] : ["State", "What", "Since", "Value", "Action"];
      row = a.state === "resolved" ? resolvedRow(a) : openRow(a);
    }
    return h("section", { id: "linked", class: "linked" },
      h("h2", {}, incident ? "The incident linked" : "The alert linked"),
      table("linked-" + (incident ? "incident" : "alert"), heads.map((x) => th(x)), [row]));
  } catch (err) {
    return h("div", { class: "callout", id: "linked", role: "alert" },
      `The ${incident ? "incident" : "alert"} linked could not be read: ${err.message}`);
  }
}

export async function alerts(params = new URLSearchParams()) {
  if (!(await useProgramme(params.get("programme"))))
    return [h("h1", {}, "Alerts"), h("div", { class: "callout", id: "unknown-programme" },
      `No programme "${params.get("programme")}" that this token may read.`)];
  const head = [h("h1", {}, "Alerts"), h("p", { class: "subtitle" }, "Open incidents (alerts with one cause) and open alerts with since when; acknowledge or silence them here (an admin token is needed for that). Resolved alerts of the last 30 days below.")];
  if (loaded.programme !== state.programme) Object.assign(loaded, { programme: state.programme, alerts: 1, silences: 1, incidents: 1 });
  const [incidentPages, alertPages, silencePages] = await Promise.all([listIncidents(state.programme, loaded.incidents),
    listAlerts(state.programme, loaded.alerts), listSilences(loaded.silences)]);
  const incidents = incidentPages.items.filter((n) => n.state === "open");
  const list = alertPages.items;
  const silences = silencePages.items;
  const more = alertPages.more ? " or more" : "";
  const open = list.filter((a) => a.state !== "resolved");
  const cutoff = Date.now() - RESOLVED_DAYS * 86400e3;
  const resolved = list.filter((a) => a.state === "resolved" && parseDate(a.updated_at).getTime() >= cutoff);
  const authorInput = h("input", { type: "text", value: actingAs(), "aria-label": "your name", size: 44,
    placeholder: "your name or e-mail (default: the token's name)",
    oninput: (e) => {
      const name = e.target.value.trim();
      if (name) localStorage.setItem(AUTHOR_KEY, name);
      else localStorage.removeItem(AUTHOR_KEY);
    } });
  return [head,
    await linked(params),
    h("p", { class: "small muted" }, h("label", {}, "Acting as ", authorInput)),
    h("h2", {}, `Incidents (${incidents.length}${incidentPages.more ? " or more" : ""})`),
    incidents.length ? table("incidents", [th("Kind"), th("What"), th("Period"), th("Since"), th("Action")], incidents.map(incidentRow))
      : h("p", { class: "muted", id: "no-incidents" }, "No open incidents."),
    incidentPages.more ? moreControl("incidents", "Only the latest incidents are loaded.") : null,
    h("h2", {}, `Open (${open.length}${more})`),
    open.length ? table("open-alerts", [th("State"), th("What"), th("Since"), th("Value"), th("Action")], open.map(openRow))
      : h("p", { class: "muted", id: "no-open-alerts" }, alertPages.more ? "No open alerts among the latest." : "No open alerts."),
    alertPages.more ? moreControl("alerts", "Only the latest alerts are loaded: older ones may be open too.") : null,
    h("h2", {}, "Silences"),
    silences.length ? table("silences", [th("Matchers"), th("From"), th("Until"), th("Who, why"), th("")], silences.map(silenceRow))
      : h("p", { class: "muted" }, "No active silences."),
    silencePages.more ? moreControl("silences", "More silences than these are active (these end last).") : null,
    h("h2", {}, `Resolved in the last ${RESOLVED_DAYS} days (${resolved.length}${more})`),
    resolved.length ? table("resolved-alerts", [th("State"), th("What"), th("Since"), th("Resolved")], resolved.map(resolvedRow))
      : h("p", { class: "muted" }, "None."),
    alertPages.more ? moreControl("alerts", "Only the latest alerts are loaded: older ones may be open or resolved too.") : null];
}
