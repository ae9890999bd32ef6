/* The daemon's API as the dashboard reads it: one function per endpoint, returning the
 * document the daemon sends (shapes below, from daemon/edge/routes*.c and the services and
 * storage they call). Errors are thrown as ApiError with the daemon's error code; a 401,
 * and a write refused to the token (403), also open the token dialog. */
import { askToken, savedToken } from "./token.js";

/* Shapes of the answers (null means the daemon has no value: never read it as 0).
 *
 * Error, any status >= 400 (request.c): {error: {code, message, …}}.
 *
 * GET /api/v1/programmes (programmes.c): {programmes: [{slug, name, time_zone, sites,
 *   indicators, updated_at}]} (sites and indicators are counts here).
 * GET /api/v1/programmes/{slug}: {slug, name, time_zone, teams, created_at, updated_at,
 *   sites: [{code, name, level, parent?, status?, adopted?, withdrawn?}],
 *   indicators: [{code, name, unit, value_type, period_type, direction?, aggregate?,
 *   dimension?, target?}]}; a member (not present) is absent, status is planned, active or
 *   withdrawn for a member site.
 *
 * GET …/progress?by=region (progress_service.c): {programme, at, period,
 *   roadmap: {version, label?, created_on}, dimensions: {coverage?, expansion?,
 *   institutionalisation?}, regions: [Region], lagging_region: {code, name, by, value} | null}
 *   Measure: {actual|null, planned, baseline, final_target, progress|null, gap|null, status}
 *   Forecast: {forecast: "YYYY-MM-DD" | "reached" | "not at this rate" | null,
 *     forecast_basis: {kind: date|reached|not_at_this_rate|insufficient_data, …}}
 *   coverage: Measure & Forecast & {period|null, numerator, denominator, sites_covered,
 *     sites_in_scope}
 *   expansion: {status, progress|null, sites: Measure & Forecast, regions: Measure,
 *     active_within_periods, period|null}
 *   institutionalisation: Measure & Forecast & {period|null, items: [{key, name?, theme?,
 *     indicator, score|null, target, ratio, due|null, overdue, period_start, comment}]}
 *   Region: {code, name, coverage?: like the programme's coverage, expansion?:
 *     {active_sites, adopted_sites, planned_sites, share_active|null, status, period|null}}
 *   lagging_region.by is coverage_gap or share_active.
 *   A programme without a roadmap: 404 no_roadmap.
 * GET …/progress/history: {period_type: "monthly", dimensions: {coverage, expansion,
 *   institutionalisation: {points: [{period, as_of, actual|null, planned, progress|null,
 *   gap|null, status, roadmap_version, …}], plans: [{roadmap_version, in_force_from,
 *   baseline_date, baseline, milestones: [{date, target}]}]}}} (plans in version order; an
 *   expansion plan is {sites: plan, regions: plan, roadmap_version, in_force_from}).
 *
 * GET …/chart?indicator=&site= (routes_web.c, observations.c): {indicator: {code, name,
 *   unit, value_type, period_type, direction, aggregate, target}, site: {code, name, level},
 *   aggregated, sites_expected (when aggregated), points: [{period, period_start, value,
 *   sites_reporting, mean, has_limits, lower_limit?, upper_limit?, signals: [name],
 *   variation: improvement|concern|neutral|common, side: high|low|null, segment}],
 *   segments: [{first, n_points, n_baseline, has_limits, short_baseline, mean,
 *   lower_limit?, upper_limit?}], direction: up|down|neither, target|null,
 *   assurance: pass|fail|hit_and_miss|none, last_variation, last_side|null}.
 *   Unknown indicator or site: 404 unknown_indicator / unknown_site.
 *
 * GET …/feeds?grace_days= (routes_feeds_status.c, feeds_store.c): the summary, {today,
 *   grace_days, indicators: [{code, name, unit, period_type, period_start, period_end,
 *   due_on, reported_by_sites, expected, reported}], regions: [Counts & {code|null,
 *   name|null}] (no region last), totals: Counts}; Counts = {sites_expected, sites_complete,
 *   sites_partial, sites_late, values_expected, values_reported, completeness|null}.
 * GET …/feeds/sites?status=late|partial|reported&region=&indicator=&limit=&after= (same
 *   files): a page, an array of [{code, name, region|null, region_name|null, expected,
 *   reported, late: [indicator code], missing: [{code, name}], last_received_at|null,
 *   status: reported|partial|late}] in the order late, partial, reported, then region and
 *   code; the next page's URL in the Link header (rel="next") when more rows follow.
 *
 * Lists that grow are paginated (core/page.h): ?limit=1..1000 (default 100) and ?after=, a
 *   cursor taken from the answer's `Link: <path?query&after=…>; rel="next"` header, present
 *   when more rows follow. A bad limit or after: 400 invalid_parameter.
 * GET /api/v1/alerts?programme= (alert_store.c): {alerts: [{id, programme, rule, kind,
 *   indicator|null, site|null, state: pending|firing|no_data|resolved, value|null, centre,
 *   lower_limit|null, upper_limit|null, period|null, summary, active_since, updated_at,
 *   acked_at|null, acked_by|null (the person), ack_comment|null, ack_token|null,
 *   silenced_by: [silence id]}]} (never inactive ones), newest first, paginated.
 *   GET /api/v1/alerts/{id}: one such object.
 * POST /api/v1/alerts/{id}/ack (admin): body {by?, comment?} (by defaults to the token's
 *   name) → {id, acked_by, ack_comment?, ack_token?}.
 * GET /api/v1/silences: {silences: [{id, programme|null, matchers: [{name, value, isRegex,
 *   isEqual}], starts_at, ends_at, expired_at|null, author, reason}]} (the active ones, of
 *   every programme; ?expired=true the past ones), latest end first, paginated.
 * POST /api/v1/silences (admin): {programme?, matchers (that list, amtool's strings
 *   "region=BE-WAL", or the older {indicator?, site?, rule?}), starts_at?, ends_at | duration
 *   ("2h"), author, reason?} → 201 {id, matchers}. DELETE /api/v1/silences/{id} (admin):
 *   {id, expired}.
 */

/* An answer with status >= 400: status, the daemon's error code and message. */
export class ApiError extends Error {
  constructor(status, body) {
    const error = body && body.error;
    super(error ? error.message : `HTTP ${status}`);
    this.status = status;
    this.code = error ? error.code : "";
    this.body = body;
  }
}

/* A 401, or a write refused to the token (403): the page has asked for a token. */
export class AuthNeeded extends ApiError {}

const REFUSED = {
  unauthenticated: "The API needs a token to show this programme's data.",
  invalid_token: "The saved token was refused (unknown or revoked). Paste another one.",
  write: "Acknowledging and silencing alerts need an admin token: paste one to do this.",
  forbidden: "This token may not do this: acknowledging and silencing alerts need an admin token. Paste one to do this.",
};

/* What the token dialog says of a refused request: a read needs a token, a write (an
 * acknowledgement, a silence: every method but GET) an admin token, whether none was sent
 * (401) or one that may not write (403). */
function refusal(err, write) {
  if (err.code === "invalid_token") return REFUSED.invalid_token;
  if (!write) return REFUSED.unauthenticated;
  return err.status === 403 ? REFUSED.forbidden : REFUSED.write;
}

/* The JSON document of method path (body sent as JSON when given), with the answer's
 * headers. */
async function send(path, method = "GET", body = undefined) {
  const headers = { Accept: "application/json" };
  const token = savedToken();
  if (token) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
  });
  const text = await resp.text();
  let doc = null;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch {
    doc = null; /* not the daemon's answer (a proxy's error page): the status says it */
  }
  const write = method !== "GET";
  if (resp.status === 401 || (write && resp.status === 403)) {
    const err = new AuthNeeded(resp.status, doc);
    askToken(refusal(err, write));
    throw err;
  }
  if (!resp.ok) throw new ApiError(resp.status, doc);
  return { doc, headers: resp.headers };
}

/* The JSON document of method path (body sent as JSON when given). */
async function request(path, method = "GET", body = undefined) {
  return (await send(path, method, body)).doc;
}

/* The path of the next page in a Link header (RFC 8288), or null: only a path of this
 * daemon is followed. */
export function nextLink(header) {
  const m = /<([^>]*)>\s*;\s*rel="next"/.exec(header || "");
  return m && m[1].startsWith("/") && !m[1].startsWith("//") ? m[1] : null;
}

/* The items under key of the first `pages` pages of a paginated list from path:
 * {items, more}, more true when the daemon has pages after those. */
async function listPages(path, key, pages) {
  const items = [];
  let next = path;
  for (let n = 0; next && n < pages; n++) {
    const { doc, headers } = await send(next);
    items.push(...doc[key]);
    next = nextLink(headers.get("Link"));
  }
  return { items, more: Boolean(next) };
}

function programmePath(slug) {
  return "/api/v1/programmes/" + encodeURIComponent(slug);
}

/* The programmes this token may read, as a list. */
export async function listProgrammes() {
  return (await request("/api/v1/programmes")).programmes;
}

export function getProgramme(slug) {
  return request(programmePath(slug));
}

/* Progress now, with the per-region blocks and the region that lags most. */
export function getProgress(slug) {
  return request(programmePath(slug) + "/progress?by=region");
}

export function getProgressHistory(slug) {
  return request(programmePath(slug) + "/progress/history");
}

export function getChart(slug, indicator, site) {
  return request(`${programmePath(slug)}/chart?indicator=${encodeURIComponent(indicator)}` +
    `&site=${encodeURIComponent(site)}`);
}

export function getFeeds(slug) {
  return request(programmePath(slug) + "/feeds");
}

/* The first page of the feeds' sites for filters {status, region, indicator, limit} (each
 * optional): {rows, next}, next the URL of the following page or null. */
export function getFeedsSites(slug, filters = {}) {
  const query = new URLSearchParams();
  for (const key of ["status", "region", "indicator", "limit"]) {
    if (filters[key] !== undefined && filters[key] !== null && filters[key] !== "") query.set(key, filters[key]);
  }
  const qs = query.toString();
  return getFeedsPage(programmePath(slug) + "/feeds/sites" + (qs ? "?" + qs : ""));
}

/* A page of the feeds' sites at url (a next URL of getFeedsSites): {rows, next}. */
export async function getFeedsPage(url) {
  const { doc, headers } = await send(url);
  return { rows: doc, next: nextLink(headers.get("Link")) };
}

/* The programme's alerts that are not inactive, newest first, as far as `pages` pages of
 * the daemon go: {items, more}. */
export function listAlerts(slug, pages = 1) {
  return listPages("/api/v1/alerts?programme=" + encodeURIComponent(slug), "alerts", pages);
}

/* Acknowledges alert id as by (a person's name; the daemon records the token's name when by
 * is ""), with an optional comment. */
export function ackAlert(id, by, comment) {
  const body = {};
  if (by) body.by = by;
  if (comment) body.comment = comment;
  return request(`/api/v1/alerts/${encodeURIComponent(id)}/ack`, "POST", body);
}

/* The programme's open incidents (alerts with one cause, with their members), newest first,
 * as far as `pages` pages go: {items, more}. */
export function listIncidents(slug, pages = 1) {
  return listPages("/api/v1/incidents?state=open&programme=" + encodeURIComponent(slug), "incidents", pages);
}

/* One incident with its members, whatever its state. */
export function getIncident(id) {
  return request(`/api/v1/incidents/${encodeURIComponent(id)}`);
}

/* One alert, as the list shows it. */
export function getAlert(id) {
  return request(`/api/v1/alerts/${encodeURIComponent(id)}`);
}

/* Acknowledges every open member of incident id as by (a person's name; the token's name
 * when by is ""), with an optional comment. */
export function ackIncident(id, by, comment) {
  const body = {};
  if (by) body.by = by;
  if (comment) body.comment = comment;
  return request(`/api/v1/incidents/${encodeURIComponent(id)}/ack`, "POST", body);
}

/* The active silences (of every programme), latest end first, as far as `pages` pages go:
 * {items, more}. */
export function listSilences(pages = 1) {
  return listPages("/api/v1/silences", "silences", pages);
}

export function createSilence(silence) {
  return request("/api/v1/silences", "POST", silence);
}

export function expireSilence(id) {
  return request("/api/v1/silences/" + encodeURIComponent(id), "DELETE");
}

/* True when err is the daemon saying the programme has no roadmap yet. */
export function isNoRoadmap(err) {
  return err instanceof ApiError && err.code === "no_roadmap";
}
