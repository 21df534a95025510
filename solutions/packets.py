"""Reference solution to notebook 03's exercise 4, "capture the reply that proves NAT happened". Spoiler alert!

Run it in notebook 03 with the lab of Step 6 running (``lab``, and ``capture`` imported in Step 3).
One capture point is never enough: at one point a packet has one set of addresses. The proof is the
*same* reply (same IP id and payload) seen outside addressed to 203.0.113.2 and inside addressed to
10.0.0.2, so the capture needs a point on each side of the NAT: the uplink (or the internet's eth0)
and c1's eth0 (or br0, or v-c1).
"""

from __future__ import annotations

from typing import Any


def capture_the_proof(lab: Any, capture: Any) -> Any:
    """What a learner types in the exercise's cell; returns the capture the check reads."""
    proof = capture(("c1", "eth0"), "uplink", proto="icmp")
    lab.ping("c1", "203.0.113.1")
    proof.stop()
    return proof


# In the notebook, exactly:
#
#     proof = capture(("c1", "eth0"), "uplink", proto="icmp")
#     lab.ping("c1", "203.0.113.1")
#     proof.stop()
#     nat_reply_captured(proof, inside="10.0.0.2", outside="203.0.113.2")
