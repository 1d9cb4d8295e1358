"""The Python example web tier (client/python/web_tier.py) against the real logoutd.

Usage: web_tier_test.py LOGOUTD_BINARY POLICY_JSON   (PYTHONPATH: the generated stubs and
client/python). Starts logoutd on a free loopback port, the web tier in this process, and
checks each outcome over real HTTP: the redirect, the confirmation page, the error page, and
fail-closed handling when logoutd is gone.
"""

import http.client
import json
import subprocess
import sys
import threading
import time
import unittest

import web_tier

LOGOUTD = None
POLICY = None


def start_logoutd():
    proc = subprocess.Popen(
        [LOGOUTD, "--listen=127.0.0.1:0", "--store=file", "--policy=" + POLICY,
         "--drain_delay=0s"],
        stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        event = json.loads(line)  # every stderr line is one JSON object
        if event.get("msg") == "serving":
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, event["port"]
    proc.kill()
    raise RuntimeError("logoutd did not start")


class WebTierTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.logoutd, port = start_logoutd()
        cls.server = web_tier.serve("127.0.0.1:%d" % port, "acme", port=0, deadline=2.0)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.port = cls.server.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        if cls.logoutd.poll() is None:
            cls.logoutd.terminate()
            cls.logoutd.wait(20)

    def get(self, path, cookie=None, port=None):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=10)
        headers = {"Cookie": cookie} if cookie else {}
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheader("Location"), response.read().decode()

    def test_allowed_logout_redirects_to_the_validated_url(self):
        status, location, _ = self.get(
            "/v2/logout?client_id=web-app&returnTo=https%3A%2F%2Fshop.acme.example.com%2Fgoodbye")
        self.assertEqual(status, 302)
        self.assertEqual(location, "https://shop.acme.example.com/goodbye")

    def test_open_redirect_attempt_is_an_escaped_error_page_without_redirect(self):
        status, location, body = self.get(
            "/v2/logout?returnTo=https://acme.example.com@evil.example/")
        self.assertEqual(status, 400)
        self.assertIsNone(location)
        self.assertIn('<h1 id="error">invalid_request</h1>', body)
        self.assertIn("&#x27;returnTo&#x27; must not contain userinfo", body)

    def test_oidc_logout_with_a_session_asks_for_confirmation(self):
        status, location, body = self.get(
            "/oidc/logout?post_logout_redirect_uri=https%3A%2F%2Facme.example.com%2Flogged-out"
            "&state=af0ifjsldkj", cookie="op_sid=sid-123")
        self.assertEqual(status, 200)
        self.assertIsNone(location)
        self.assertIn('<h1 id="confirm">', body)
        self.assertIn('value="https://acme.example.com/logged-out?state=af0ifjsldkj"', body)

    def test_unknown_path_is_not_found(self):
        status, _, _ = self.get("/logout")
        self.assertEqual(status, 404)

    def test_logoutd_unreachable_fails_closed_without_redirect(self):
        # A second web tier pointed at a port nobody listens on.
        dead = web_tier.serve("127.0.0.1:1", "acme", port=0, deadline=0.25)
        threading.Thread(target=dead.serve_forever, daemon=True).start()
        try:
            status, location, body = self.get(
                "/v2/logout?client_id=web-app&returnTo=https%3A%2F%2Fshop.acme.example.com%2F"
                "goodbye", port=dead.server_address[1])
        finally:
            dead.shutdown()
        self.assertEqual(status, 503)
        self.assertIsNone(location)
        self.assertIn("could not sign you out", body)


if __name__ == "__main__":
    LOGOUTD, POLICY = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
