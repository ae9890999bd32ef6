"""Credentials as DHIS2's clients send them, through the real daemon: a scaleupd token as
"Authorization: ApiToken …" (DHIS2's personal access tokens) or as the password of HTTP
Basic (dhis2.py, and any client of DHIS2's Web API given a user name and password), on the
data value set import and on the read API; and the 401 that tells a client which schemes it
may answer with."""

import base64
import unittest

import harness
from harness import Daemon, example_programme

SLUG = "icp-t2d-htn-be"
DVS = """{"dataValues": [
  {"dataElement": "patients_enrolled", "period": "202505", "orgUnit": "BE-VLG-GP001", "value": "151"}
]}"""
JSON = {"Content-Type": "application/json"}


def basic(user, password):
    """The header requests sends for auth=(user, password) (RFC 7617)."""
    pair = f"{user}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


class Dhis2AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.conninfo = harness.fresh_database("e2e_dhis2_auth")
        cls.daemon = Daemon(cls.conninfo)
        try:
            resp = cls.daemon.request("POST", "/api/v1/programmes", example_programme())
            if resp.status != 201:
                raise AssertionError(f"creating the example answered {resp.status}")
            cls.feed = harness.create_token(cls.conninfo, "--feed", SLUG, name="dhis2-feed")
            cls.read = harness.create_token(cls.conninfo, "--read", name="dhis2-reader")
        except BaseException:
            cls.daemon.__exit__(Exception, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        code = cls.daemon.stop()
        cls.daemon.__exit__(None, None, None)
        if code != 0:
            raise AssertionError(f"scaleupd exited with {code} after SIGTERM")

    def push(self, headers):
        return self.daemon.request("POST", "/api/dataValueSets", DVS, {**JSON, **headers},
                                   token=None)

    def test_api_token_and_basic_push_a_data_value_set(self):
        resp = self.push({"Authorization": f"ApiToken {self.feed}"})
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(resp.body["response"]["status"], "SUCCESS")
        # the user name is not checked: the token is the password
        for user in ("admin", "dhis2-feed", ""):
            resp = self.push(basic(user, self.feed))
            self.assertEqual(resp.status, 200, (user, resp.body))
            self.assertEqual(resp.body["response"]["importCount"]["ignored"], 1,
                             "sent again: unchanged")

    def test_the_read_api_takes_them_too(self):
        path = f"/api/v1/programmes/{SLUG}/series?indicator=patients_enrolled&site=BE-VLG"
        for headers in ({"Authorization": f"ApiToken {self.read}"}, basic("me", self.read)):
            resp = self.daemon.request("GET", path, headers=headers, token=None)
            self.assertEqual(resp.status, 200, (headers, resp.body))

    def test_a_wrong_token_is_an_invalid_token_with_every_challenge(self):
        resp = self.push(basic("admin", "sud_" + "A" * 43))
        self.assertEqual(resp.status, 401, resp.body)
        self.assertEqual(resp.body["error"]["code"], "invalid_token")
        challenges = resp.headers.get_all("WWW-Authenticate")
        self.assertEqual([c.split(" ")[0] for c in challenges], ["Bearer", "ApiToken", "Basic"])
        self.assertIn('error="invalid_token"', challenges[0])
        # DHIS2's demo login is no token of ours: no credentials, asked for one
        resp = self.push(basic("admin", "district"))
        self.assertEqual(resp.status, 401, resp.body)
        self.assertEqual(resp.body["error"]["code"], "unauthenticated")

    def test_another_systems_basic_login_leaves_public_routes_public(self):
        # a proxy's Basic login in front of the dashboard reaches us on every request
        resp = self.daemon.request("GET", "/readyz", token=None, headers=basic("me", "secret"))
        self.assertEqual(resp.status, 200, resp.body)
        resp = self.daemon.request("GET", "/", token=None, headers=basic("me", "secret"))
        self.assertEqual(resp.status, 200)

    def test_the_dashboards_api_offers_no_basic_challenge_to_a_browser(self):
        # a browser answers a Basic challenge to fetch() with its own password prompt
        resp = self.daemon.request("GET", f"/api/v1/programmes/{SLUG}", token=None)
        self.assertEqual(resp.status, 401)
        challenges = resp.headers.get_all("WWW-Authenticate")
        self.assertEqual([c.split(" ")[0] for c in challenges], ["Bearer", "ApiToken"])
        # unless the client sent Basic itself
        resp = self.daemon.request("GET", f"/api/v1/programmes/{SLUG}", token=None,
                                   headers=basic("admin", "sud_nope"))
        self.assertIn("Basic", [c.split(" ")[0] for c in resp.headers.get_all("WWW-Authenticate")])

    def test_no_or_malformed_credentials(self):
        resp = self.push({})
        self.assertEqual(resp.status, 401)
        self.assertEqual(resp.body["error"]["code"], "unauthenticated")
        self.assertIn("Basic", resp.body["error"]["message"])
        for header in ("Basic not-base64!", "Basic " + base64.b64encode(b"no-colon").decode(),
                       "ApiToken", "Bearer"):
            resp = self.push({"Authorization": header})
            self.assertEqual(resp.status, 401, header)
            self.assertEqual(resp.body["error"]["code"], "invalid_credentials", header)
        # a read token may not push, whatever the scheme
        resp = self.push(basic("x", self.read))
        self.assertEqual(resp.status, 403, resp.body)

    # What a DHIS2 client's query may name: found by a hostile-input probe, each was
    # honoured silently or answered 500.

    def test_a_feed_token_naming_another_programme_is_refused(self):
        headers = {**JSON, "Authorization": f"ApiToken {self.feed}"}
        for other in ("another-programme", "icp"):
            resp = self.daemon.request("POST", f"/api/dataValueSets?dryRun=true&programme={other}",
                                       DVS, headers, token=None)
            self.assertEqual(resp.status, 403, (other, resp.body))
        resp = self.daemon.request("POST", f"/api/dataValueSets?dryRun=true&programme={SLUG}",
                                   DVS, headers, token=None)
        self.assertEqual(resp.status, 200, resp.body)

    def test_a_data_set_that_is_not_utf8_is_a_400(self):
        resp = self.daemon.request("POST", "/api/dataValueSets?dryRun=true&dataSet=%ff", DVS,
                                   {**JSON, "Authorization": f"ApiToken {self.feed}"}, token=None)
        self.assertEqual(resp.status, 400, resp.body)
        self.assertIn("UTF-8", resp.body["message"])

    def test_a_nul_in_a_query_value_is_a_400_not_a_shorter_value(self):
        resp = self.daemon.request(
            "GET", f"/api/v1/programmes/{SLUG}/series?indicator=patients_enrolled"
                   "&site=BE-VLG-GP001%00garbage")
        self.assertEqual(resp.status, 400, resp.body)

    def test_an_id_is_canonical_digits(self):
        for id_text in ("+1", "%201", "01", "%0a1", "99999999999999999999", "1e0"):
            resp = self.daemon.request("DELETE", f"/api/v1/tokens/{id_text}")
            self.assertEqual(resp.status, 404, (id_text, resp.body))
        resp = self.daemon.request("GET", f"/api/v1/programmes/{SLUG}/roadmap/versions/+1")
        self.assertEqual(resp.status, 404, resp.body)
        self.assertEqual(self.daemon.request("GET", "/api/v1/tokens").status, 200,
                         "the admin token still works")


if __name__ == "__main__":
    unittest.main()

