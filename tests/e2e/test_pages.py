"""Pages of the growing lists end to end (alerts, silences, tokens, a programme's revisions):
every page walked through its Link rel="next" with a small limit, checked against the
database so that no row is missing or repeated, also when rows are added between pages;
filters kept across pages; bad limit and after values answered 400 naming the parameter;
scaleupctl lists everything whatever the page size."""

import base64
import json
import re
import unittest
import urllib.parse

import harness
from harness import Daemon, fresh_database, psql

PROGRAMME = {
    "slug": "pages-r",
    "name": "Pages test programme",
    "time_zone": "Europe/Brussels",
    "sites": [
        {"code": "BE", "name": "Belgium", "level": "country"},
        {"code": "GP1", "name": "Praktijk Een", "level": "practice", "parent": "BE",
         "adopted": "2024-01-01"},
        {"code": "GP2", "name": "Praktijk Twee", "level": "practice", "parent": "BE",
         "adopted": "2024-01-01"},
    ],
    "indicators": [
        {"code": "bp", "name": "Blood pressure under control", "unit": "%",
         "value_type": "percentage", "period_type": "monthly", "direction": "up",
         "aggregate": "weighted"},
        {"code": "visits", "name": "Visits", "unit": "visits", "value_type": "count",
         "period_type": "monthly", "direction": "up", "aggregate": "sum"},
    ],
}

LINK = re.compile(r'^<([^>]*)>; rel="next"$')


def next_link(response):
    """The path and query of the next page, or None on the last page."""
    link = response.headers.get("Link")
    if link is None:
        return None
    match = LINK.match(link)
    if match is None:
        raise AssertionError(f"malformed Link header {link!r}")
    return match.group(1)


def cursor(*fields):
    return base64.urlsafe_b64encode("\n".join(fields).encode()).decode().rstrip("=")


class PagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(fresh_database("e2e_pages"), "[alerts]\nevaluate_interval = 1h\n")
        d = cls.daemon
        for slug in ("pages-a", "pages-r"):
            doc = dict(PROGRAMME, slug=slug)
            r = d.request("POST", "/api/v1/programmes", doc)
            assert r.status == 201, r.body

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def sql(self, query):
        return psql(self.daemon.conninfo, query)

    def walk(self, path, key, between=None):
        """Every item of the list at path, page by page; between(page_number) runs after each
        page but the last. Returns (items, pages, the paths requested)."""
        items, paths = [], []
        while path is not None:
            paths.append(path)
            r = self.daemon.request("GET", path)
            self.assertEqual(r.status, 200, (path, r.body))
            self.assertIsInstance(r.body[key], list)
            items.extend(r.body[key])
            path = next_link(r)
            if path is not None:
                self.assertTrue(r.body[key], f"{path}: an empty page with a next link")
                if between is not None:
                    between(len(paths))
        return items, len(paths), paths

    def assert_bad(self, path, parameter):
        r = self.daemon.request("GET", path)
        self.assertEqual(r.status, 400, (path, r.body))
        self.assertEqual(r.body["error"]["code"], "invalid_parameter", (path, r.body))
        self.assertEqual(r.body["error"]["path"], parameter, (path, r.body))

    # ------------------------------------------------------------------ alerts

    def make_alerts(self, n, state="firing"):
        """n alerts of programme pages-a (the evaluator is not asked: rows of a rule of its
        own), returning their ids."""
        d = self.daemon
        r = d.request("POST", "/api/v1/programmes/pages-a/rules",
                      {"name": "bp-min", "kind": "threshold", "indicator": "bp", "site": "GP1",
                       "min": 40})
        self.assertIn(r.status, (200, 201), r.body)
        out = self.sql(
            "INSERT INTO alert (programme_id, rule_id, subject, state, updated_at, summary)"
            " SELECT r.programme_id, r.id, 'pages-' || g || '-' || clock_timestamp(), "
            f" '{state}', now(), 'page test' FROM alert_rule r JOIN programme p"
            " ON p.id = r.programme_id, generate_series(1, " + str(n) + ") g"
            " WHERE p.slug = 'pages-a' AND r.name = 'bp-min' RETURNING id")
        return [int(x) for x in out.split()]

    def test_alerts_walk_every_page_newest_first(self):
        firing = self.make_alerts(5)
        resolved = self.make_alerts(2, "resolved")
        self.make_alerts(1, "inactive")  # never listed
        added = []
        items, pages, paths = self.walk(
            "/api/v1/alerts?programme=pages-a&limit=2", "alerts",
            between=lambda page: page == 1 and added.extend(self.make_alerts(1)))
        ids = [a["id"] for a in items]
        self.assertEqual(len(ids), len(set(ids)), f"an alert repeated: {ids}")
        self.assertEqual(ids, sorted(ids, reverse=True), "newest first")
        # what existed when the walk began is all there; the alert added after the first page
        # is newer than it, so before the cursor
        self.assertEqual(set(ids), set(firing + resolved))
        self.assertEqual(pages, 4)
        for p in paths[1:]:
            self.assertIn("programme=pages-a", p)
            self.assertIn("limit=2", p)
            self.assertTrue(p.startswith("/api/v1/alerts?"), p)
        # every field of the unpaginated answer is there
        self.assertEqual(set(items[0]), {
            "id", "programme", "rule", "kind", "indicator", "site", "state", "value", "centre",
            "lower_limit", "upper_limit", "period", "summary", "active_since", "updated_at",
            "acked_at", "acked_by", "ack_comment", "ack_token", "silenced_by", "due",
            "incident_id", "dimension"})
        # the filters hold across pages
        items, _, _ = self.walk("/api/v1/alerts?programme=pages-a&state=firing&limit=2",
                                "alerts")
        self.assertEqual({a["id"] for a in items}, set(firing + added))
        self.assertTrue(all(a["state"] == "firing" for a in items))
        # the default page holds them all, without a link
        r = self.daemon.request("GET", "/api/v1/alerts?programme=pages-a")
        self.assertEqual(len(r.body["alerts"]), 8)
        self.assertIsNone(r.headers.get("Link"))
        # an exact last page has no link either
        r = self.daemon.request("GET", "/api/v1/alerts?programme=pages-a&limit=8")
        self.assertEqual(len(r.body["alerts"]), 8)
        self.assertIsNone(r.headers.get("Link"))

    def test_bad_limit_and_after_are_400_naming_the_parameter(self):
        for path in ("/api/v1/alerts", "/api/v1/silences", "/api/v1/tokens",
                     "/api/v1/programmes/pages-r/revisions"):
            for limit in ("0", "1001", "-1", "abc", "", "1.5", "%2B5", "10%20"):
                self.assert_bad(f"{path}?limit={limit}", "limit")
            for after in ("!!", "MTAKNw==", "x", "%2F%2F", "", cursor("1", "2", "3"),
                          cursor("abc"), cursor("abc", "1"), cursor("01"),
                          cursor("99999999999999999999", "1")):
                self.assert_bad(f"{path}?after={after}", "after")
            # bytes that are not text are refused before the cursor is read, by name too
            r = self.daemon.request("GET", f"{path}?after=%FF")
            self.assertEqual((r.status, r.body["error"]["code"]), (400, "invalid_encoding"))
            self.assertIn('"after"', r.body["error"]["message"])
        # the two fields of a silence's cursor are not an alert's one
        self.assert_bad(f"/api/v1/alerts?after={cursor('1', '2')}", "after")
        self.assert_bad(f"/api/v1/tokens?after={cursor('1', '2')}", "after")
        # a time beyond what a timestamp holds is refused, not a failed statement
        self.assert_bad(f"/api/v1/silences?after={cursor('-9223372036854775808', '1')}",
                        "after")
        self.assert_bad("/api/v1/programmes/pages-r/revisions?after="
                        f"{cursor('9223372036854775807', '1')}", "after")
        # limit and after are parameters of these routes only
        r = self.daemon.request("GET", "/api/v1/programmes/pages-r/rules?limit=2")
        self.assertEqual(r.body["error"]["code"], "unknown_parameter")

    # ---------------------------------------------------------------- silences

    def post_silence(self, ends_at, reason):
        r = self.daemon.request("POST", "/api/v1/silences", {
            "programme": "pages-a", "matchers": {"indicator": "bp"}, "ends_at": ends_at,
            "author": "e2e", "reason": reason})
        self.assertEqual(r.status, 201, r.body)
        return r.body["id"]

    def test_silences_current_and_expired(self):
        ids = [self.post_silence(f"2040-0{m}-01T00:00:00Z", f"s{m}") for m in range(1, 6)]
        ids.append(self.post_silence("2040-05-01T00:00:00Z", "same end"))  # a tie on the end
        gone = ids[:2]
        for sid in gone:
            self.assertEqual(self.daemon.request("DELETE", f"/api/v1/silences/{sid}").status, 200)
        current = [i for i in ids if i not in gone]
        late = []
        items, pages, _ = self.walk(
            "/api/v1/silences?limit=2", "silences",
            # one that ends before the first page's last: after the cursor, so listed
            between=lambda page: page == 1 and late.append(
                self.post_silence("2039-01-01T00:00:00Z", "late")))
        got = [s["id"] for s in items]
        self.assertEqual(len(got), len(set(got)), got)
        self.assertEqual(set(got), set(current + late))
        self.assertEqual(pages, 3)
        ends = [s["ends_at"] for s in items]
        self.assertEqual(ends, sorted(ends, reverse=True), "the latest end first")
        # the tie is broken by id, newest first
        self.assertEqual(got[:2], [ids[5], ids[4]])
        items, _, _ = self.walk("/api/v1/silences?expired=true&limit=1", "silences")
        self.assertEqual({s["id"] for s in items}, set(gone))
        self.assertTrue(all(s["expired_at"] for s in items))
        r = self.daemon.request("GET", "/api/v1/silences?expired=maybe")
        self.assertEqual(r.status, 400)

    # ------------------------------------------------------------------ tokens

    def test_tokens_in_id_order_with_one_added_between_pages(self):
        d = self.daemon
        for i in range(5):
            r = d.request("POST", "/api/v1/tokens", {"scope": "read", "name": f"reader {i}"})
            self.assertEqual(r.status, 201, r.body)
        before = [int(x) for x in self.sql("SELECT id FROM token ORDER BY id").split()]
        added = []

        def add(page):
            if page == 2:
                r = d.request("POST", "/api/v1/tokens", {"scope": "read", "name": "late"})
                added.append(r.body["id"])
        items, _, _ = self.walk("/api/v1/tokens?limit=2", "tokens", between=add)
        got = [t["id"] for t in items]
        self.assertEqual(got, before + added, "each token once, in id order, the late one too")
        self.assertTrue(all("token" not in t and "hash" not in t for t in items))
        self.assertEqual(set(items[0]), {"id", "scope", "programme", "name", "created_at",
                                         "last_used_at", "revoked_at"})

    # --------------------------------------------------------------- revisions

    def push(self, rows, token=harness.ADMIN):
        r = self.daemon.request("POST", "/api/v1/programmes/pages-r/observations",
                                {"observations": rows}, token=token)
        self.assertEqual(r.status, 200, r.body)
        return r.body

    def test_revisions_walk_and_filters(self):
        feed = harness.create_token(self.daemon.conninfo, "--feed", "pages-r", name="feed one")
        periods = ["2025-01", "2025-02", "2025-03"]
        rows = [{"indicator": ind, "site": site, "period": p, "value": 50 + k}
                for k, p in enumerate(periods) for site in ("GP1", "GP2")
                for ind in ("bp", "visits")]
        self.push([dict(r, numerator=r["value"], denominator=100) if r["indicator"] == "bp"
                   else r for r in rows], token=feed)
        for step in (1, 2):  # two revisions of every observation
            self.push([dict(r, value=r["value"] + step) for r in rows])
        total = int(self.sql("SELECT count(*) FROM observation_revision"))
        self.assertEqual(total, 24)
        added = []

        def revise(page):
            if page == 3:
                self.push([{"indicator": "bp", "site": "GP1", "period": "2025-01",
                            "value": 99}])
                added.append(1)
        items, pages, _ = self.walk("/api/v1/programmes/pages-r/revisions?limit=5",
                                    "revisions", between=revise)
        self.assertEqual(pages, 5)
        keys = [(i["indicator"], i["site"], i["period"], i["value"]) for i in items]
        self.assertEqual(len(keys), total, "every revision that existed, none twice")
        self.assertEqual(len(set(keys)), total)
        replaced = [i["replaced_at"] for i in items]
        self.assertEqual(replaced, sorted(replaced, reverse=True), "newest first")
        # the first values were the feed token's; the missing numerator of a count is absent
        first = [i for i in items if i["value"] == 50 and i["indicator"] == "bp"
                 and i["site"] == "GP1"]
        self.assertEqual(len(first), 1)
        self.assertEqual(first[0]["token"], "feed one")
        self.assertEqual(first[0]["replaced_by"], "e2e admin")
        self.assertEqual((first[0]["numerator"], first[0]["denominator"]), (50, 100))
        self.assertEqual(first[0]["period"], "2025-01-01")
        visits = [i for i in items if i["indicator"] == "visits"][0]
        self.assertNotIn("numerator", visits)
        self.assertNotIn("comment", visits)
        self.assertEqual(set(visits), {"indicator", "site", "period", "value", "received_at",
                                       "replaced_at", "token", "replaced_by"})
        # filters, alone and together, across pages
        cases = [("indicator=bp", lambda i: i["indicator"] == "bp"),
                 ("site=GP2", lambda i: i["site"] == "GP2"),
                 ("indicator=visits&site=GP1",
                  lambda i: i["indicator"] == "visits" and i["site"] == "GP1"),
                 ("from=2025-02-01", lambda i: i["period"] >= "2025-02-01"),
                 ("from=2025-02-01&to=2025-02-28", lambda i: i["period"] == "2025-02-01"),
                 ("site=BE", lambda i: False)]
        everything, _, _ = self.walk("/api/v1/programmes/pages-r/revisions?limit=1000",
                                     "revisions")
        self.assertEqual(len(everything), total + len(added))
        for query, keep in cases:
            items, _, paths = self.walk(
                f"/api/v1/programmes/pages-r/revisions?{query}&limit=3", "revisions")
            self.assertEqual(items, [i for i in everything if keep(i)], query)
            for p in paths[1:]:
                self.assertIn(query.split("&")[0], p)
        for query, code in (("indicator=nope", "unknown_indicator"), ("site=nope", "unknown_site")):
            r = self.daemon.request("GET", f"/api/v1/programmes/pages-r/revisions?{query}")
            self.assertEqual((r.status, r.body["error"]["code"]), (404, code))
        for query, name in (("from=2025-13-01", "from"), ("to=March", "to")):
            self.assert_bad(f"/api/v1/programmes/pages-r/revisions?{query}", name)
        r = self.daemon.request("GET", "/api/v1/programmes/nope/revisions")
        self.assertEqual(r.status, 404)

    # -------------------------------------------------------------- scaleupctl

    def ctl(self, *args, check=True):
        d = self.daemon
        return harness.scaleupctl("--url", f"http://127.0.0.1:{d.port}", "--token",
                                  d.admin_token, *args, check=check)

    def test_scaleupctl_lists_every_page(self):
        # more tokens than the daemon's default page of 100
        self.sql("INSERT INTO token (hash, scope, name) SELECT sha256(('ctl' || g)::bytea),"
                 " 'read', 'ctl ' || g FROM generate_series(1, 150) g")
        ids = [int(x) for x in self.sql("SELECT id FROM token ORDER BY id").split()]
        self.assertGreater(len(ids), 150)
        proc = self.ctl("token", "list")
        self.assertEqual([t["id"] for t in json.loads(proc.stdout)["tokens"]], ids)
        self.assertEqual(proc.stderr, "")
        # --limit stops there and says that more follow
        proc = self.ctl("token", "list", "--limit", "5")
        self.assertEqual([t["id"] for t in json.loads(proc.stdout)["tokens"]], ids[:5])
        self.assertIn("more tokens follow", proc.stderr)
        proc = self.ctl("token", "list", "--limit", "1200")
        self.assertEqual(len(json.loads(proc.stdout)["tokens"]), len(ids))
        self.assertEqual(proc.stderr, "")
        for bad in (["token", "list", "--limit", "0"], ["token", "list", "--limit", "x"],
                    ["alerts", "--limit", "-3"]):
            self.assertNotEqual(self.ctl(*bad, check=False).returncode, 0, bad)
        # alerts, silences and revisions as the API's pages give them
        self.make_alerts(120)
        api, _, _ = self.walk("/api/v1/alerts?programme=pages-a", "alerts")
        proc = self.ctl("alerts", "--programme", "pages-a")
        self.assertEqual(json.loads(proc.stdout)["alerts"], api)
        self.assertGreater(len(api), 100)
        proc = self.ctl("alerts", "--programme", "pages-a", "--state", "firing", "--limit", "3")
        got = json.loads(proc.stdout)["alerts"]
        self.assertEqual([a["id"] for a in got], [a["id"] for a in api if a["state"] == "firing"][:3])
        for path, args, key in (("/api/v1/silences", ["silence", "list"], "silences"),
                                ("/api/v1/silences?expired=true",
                                 ["silence", "list", "--expired"], "silences"),
                                ("/api/v1/programmes/pages-r/revisions?site=GP1",
                                 ["revisions", "pages-r", "--site", "GP1"], "revisions")):
            api, _, _ = self.walk(path, key)
            self.assertEqual(json.loads(self.ctl(*args).stdout)[key], api, args)

    def test_scaleupctl_prints_numbers_as_the_api_writes_them(self):
        # 86.6 is stored as 86.599999999999994: the API writes 86.6, and so does scaleupctl
        path = "/api/v1/programmes/pages-a/observations"
        for value in (86.6, 91.3):
            r = self.daemon.request("POST", path, {"observations": [
                {"indicator": "bp", "site": "GP2", "period": "2024-06", "value": value,
                 "numerator": value, "denominator": 100}]})
            self.assertEqual(r.status, 200, r.body)
        proc = self.ctl("revisions", "pages-a", "--site", "GP2", "--indicator", "bp")
        revision = json.loads(proc.stdout)["revisions"][0]
        self.assertEqual((revision["value"], revision["numerator"]), (86.6, 86.6))
        self.assertIn('"value": 86.6,', proc.stdout)
        self.assertNotIn("86.59999", proc.stdout)

    def test_link_keeps_odd_characters_of_the_query(self):
        site = "GP 1&x=é"
        r = self.daemon.request(
            "GET", "/api/v1/alerts?site=" + urllib.parse.quote(site, safe="") + "&limit=1")
        self.assertEqual(r.status, 200, r.body)
        # no alert at such a site: no next page; the walk with a real filter is tested above
        self.assertIsNone(r.headers.get("Link"))
        self.make_alerts(2)
        r = self.daemon.request("GET", "/api/v1/alerts?limit=1&programme=pages-a&state=firing")
        link = next_link(r)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
        self.assertEqual(query["programme"], ["pages-a"])
        self.assertEqual(query["state"], ["firing"])
        self.assertEqual(query["limit"], ["1"])
        self.assertEqual(len(query["after"]), 1)


if __name__ == "__main__":
    unittest.main()
