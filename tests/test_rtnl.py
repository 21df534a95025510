"""rtnl's batches against the real kernel: one answer per request, failures in the kernel's own words."""

from __future__ import annotations

import errno
import ipaddress
import json

from conftest import sh

from netlab.rtnl import default_route_request, get_link_request, open_socket, send_batch


def test_a_batch_answers_each_request_in_order_and_a_failure_in_the_words_ip_prints():
    gateway = ipaddress.ip_address("192.0.2.1")  # no network leads there: the kernel refuses the route
    lo = next(link["ifindex"] for link in json.loads(sh("ip", "-j", "link", "show", "lo").stdout))
    with open_socket() as sock:
        found, missing, route = send_batch(
            sock, [get_link_request("lo"), get_link_request("nosuch0"), default_route_request(gateway)]
        )
    assert found == lo
    assert isinstance(missing, OSError) and missing.errno == errno.ENODEV
    assert isinstance(route, OSError) and route.errno == errno.ENETUNREACH
    said = sh("ip", "route", "add", "default", "via", str(gateway), check=False).stderr
    assert route.strerror and route.strerror in said, (route.strerror, said)  # the extended ack's message
    assert sh("ip", "route", "show", "default").stdout == ""
