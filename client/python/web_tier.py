"""Example web tier for logoutd in Python: serves /oidc/logout and /v2/logout by asking logoutd.

  GET /oidc/logout?post_logout_redirect_uri=...&state=...   (cookie op_sid=<OP session id>)
    -> logout.v1.LogoutPolicy/ValidateLogout (raw query forwarded; logoutd parses it)
    -> 302 to the validated redirect, a confirmation page, or the error logoutd decided.

Fail closed: when logoutd cannot be reached within the deadline, the user sees a 503 page and is
never redirected. Everything rendered into HTML is escaped; tokens are never logged.

Run (stubs generated at build time into build/client/python, see README "Other languages"):

  PYTHONPATH=build/client/python /usr/bin/python3 client/python/web_tier.py \\
      --logoutd=127.0.0.1:50051 --tenant=acme --port=8080

Only the Python standard library plus Debian's python3-grpcio and python3-protobuf.
"""

import argparse
import html
import http.cookies
import http.server
import logging
import sys
import urllib.parse

import grpc
from logout.v1 import logout_pb2
from logout.v1 import logout_pb2_grpc

# How long a logout may wait for logoutd: a decision takes microseconds, so a slow answer means
# trouble, and the user should see an error page rather than a hanging browser.
DEFAULT_DEADLINE_SECONDS = 0.25
SESSION_COOKIE = "op_sid"
ENDPOINTS = {
    "/oidc/logout": logout_pb2.ENDPOINT_OIDC_LOGOUT,
    "/v2/logout": logout_pb2.ENDPOINT_V2_LOGOUT,
}
MAX_QUERY_BYTES = 16 * 1024


def page(title, body):
    return (
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>%s</title></head>"
        "<body>%s</body></html>" % (html.escape(title), body)
    ).encode("utf-8")


class LogoutDecider:
    """Turns one logout request into (status, headers, body) by asking logoutd."""

    def __init__(self, channel, tenant, deadline_seconds=DEFAULT_DEADLINE_SECONDS):
        self._stub = logout_pb2_grpc.LogoutPolicyStub(channel)
        self._tenant = tenant
        self._deadline = deadline_seconds

    def decide(self, endpoint, raw_query, method, session_id):
        request = logout_pb2.ValidateLogoutRequest(
            tenant=self._tenant,
            endpoint=endpoint,
            raw_query=raw_query,
            http_method=(logout_pb2.HTTP_METHOD_POST if method == "POST"
                         else logout_pb2.HTTP_METHOD_GET),
            session_id=session_id,
        )
        try:
            response = self._stub.ValidateLogout(request, timeout=self._deadline)
        except grpc.RpcError as error:
            # Fail closed: no redirect anywhere when logoutd could not decide.
            logging.warning("logoutd failed: %s", error.code().name)
            return 503, {}, page("Sign-out unavailable",
                                 "<h1>We could not sign you out right now.</h1>"
                                 "<p>Please try again in a moment.</p>")
        if response.decision == logout_pb2.DECISION_ALLOW:
            status = response.http_status or 302
            return status, {"Location": response.redirect_url}, b""
        if response.decision == logout_pb2.DECISION_REQUIRE_CONFIRMATION:
            # A real OP would also bind this form to the session with a CSRF token.
            target = html.escape(response.redirect_url, quote=True)
            return 200, {}, page(
                "Sign out?",
                "<h1 id=\"confirm\">Do you want to sign out?</h1>"
                "<form method=\"post\" action=\"/oidc/logout/confirm\">"
                "<input type=\"hidden\" name=\"continue\" value=\"%s\">"
                "<button type=\"submit\">Sign out</button></form>" % target)
        status = response.http_status or 400
        return status, {}, page(
            "Sign-out refused",
            "<h1 id=\"error\">%s</h1><p id=\"description\">%s</p>" % (
                html.escape(response.error or "invalid_request"),
                html.escape(response.error_description)))


def make_handler(decider):
    class Handler(http.server.BaseHTTPRequestHandler):
        def _respond(self, status, headers, body):
            self.send_response(status)
            self.send_header("Cache-Control", "no-store")
            if body:
                self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _logout(self, raw_query):
            path = urllib.parse.urlsplit(self.path).path
            endpoint = ENDPOINTS.get(path)
            if endpoint is None:
                return self._respond(404, {}, page("Not found", "<h1>Not found</h1>"))
            if len(raw_query) > MAX_QUERY_BYTES:
                return self._respond(414, {}, page("Too long", "<h1>Request too long</h1>"))
            cookies = http.cookies.SimpleCookie(self.headers.get("Cookie", ""))
            session = cookies[SESSION_COOKIE].value if SESSION_COOKIE in cookies else ""
            status, headers, body = decider.decide(endpoint, raw_query, self.command, session)
            self._respond(status, headers, body)

        def do_GET(self):
            self._logout(urllib.parse.urlsplit(self.path).query)

        def do_POST(self):
            length = min(int(self.headers.get("Content-Length") or 0), MAX_QUERY_BYTES + 1)
            self._logout(self.rfile.read(length).decode("utf-8", "replace"))

        def log_message(self, fmt, *args):
            pass  # request lines carry query strings (state, hints): never logged

    return Handler


def serve(logoutd, tenant, host="127.0.0.1", port=8080, deadline=DEFAULT_DEADLINE_SECONDS):
    """Starts the web tier; returns the http.server (serve_forever() it, shutdown() it)."""
    channel = grpc.insecure_channel(logoutd)
    decider = LogoutDecider(channel, tenant, deadline)
    return http.server.ThreadingHTTPServer((host, port), make_handler(decider))


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logoutd", default="127.0.0.1:50051")
    parser.add_argument("--tenant", default="acme")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--deadline", type=float, default=DEFAULT_DEADLINE_SECONDS)
    args = parser.parse_args(argv)
    server = serve(args.logoutd, args.tenant, args.host, args.port, args.deadline)
    print("web tier on http://%s:%d (tenant %s)" % (args.host, server.server_address[1],
                                                    args.tenant), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
