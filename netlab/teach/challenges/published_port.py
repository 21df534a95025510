"""Challenge: publish a port of a web server running in a container (``docker run -p 8080:80``).

The NAT challenge's world, solved, with a web server in c1: a DNAT rule on the root
namespace's port 8080 must bring the internet's requests to it.
"""

from __future__ import annotations

import sys

from netlab.plumbing.i18n import N_, _
from netlab.teach import checks
from netlab.teach.challenges.base import UPLINK, Challenge, wait_for_listener
from netlab.teach.challenges.internet_by_nat import nat

__all__ = ["publish"]

WEB_SERVER = """  # answers every GET with one line; run with python -c in c1
import http.server
class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"hello from c1\\n")
    def log_message(self, *args): pass
http.server.HTTPServer(("0.0.0.0", 80), Page).serve_forever()
"""


def publish() -> Challenge:
    """Publish a port of an HTTP server running in a namespace."""
    challenge = nat()
    lab = challenge.lab
    try:
        lab.sysctl("net.ipv4.ip_forward", 1)
        lab.masquerade("10.0.0.0/24", out="uplink")
        lab.popen("c1", [sys.executable, "-c", WEB_SERVER])
        wait_for_listener("c1", 80)
    except BaseException:
        lab.close()
        raise
    challenge.name = N_("publish")
    challenge.task = _(
        "A web server runs in c1 on port 80. Publish it on the root namespace's port 8080, so that\n"
        "the internet namespace gets its page from http://{uplink}:8080/ (like docker run -p 8080:80)."
    ).format(uplink=UPLINK)
    challenge.checker = lambda: checks.port_published(8080, address=UPLINK, client="internet", expect="hello from c1")
    return challenge
