/* What the page knows between views: the programmes, the chosen programme's slug and its
 * document (sites, indicators), and lookups in them. */

export const state = {
  programmes: [],
  programme: null, /* slug, or null when the daemon has none this token may read */
  detail: null, /* GET /api/v1/programmes/{slug} */
};

export function sites() {
  return state.detail ? state.detail.sites : [];
}

export function indicators() {
  return state.detail ? state.detail.indicators : [];
}

/* The site's name, or its code when the programme has no such site. */
export function siteName(code) {
  const s = sites().find((x) => x.code === code);
  return s ? s.name : code;
}

/* The programme's IANA time zone, in which the dashboard writes times as its e-mails do. */
export function timeZone() {
  return (state.detail && state.detail.time_zone) || "UTC";
}

export function indicatorOf(code) {
  return indicators().find((i) => i.code === code) || null;
}
