"""Exercise checks that read a capture: the packets themselves are the proof.

    >>> cap = capture(("c1", "eth0"), "uplink", proto="icmp")
    >>> lab.ping("c1", "203.0.113.1"); cap.stop()
    >>> print(nat_reply_captured(cap, inside="10.0.0.2", outside="203.0.113.2"))
    ✔ done: capture the reply that proves NAT happened
      ✔ the capture holds 4 packets
      ✔ a reply to 203.0.113.2 was captured at uplink
      ✔ the same reply was captured again at c1:eth0, now addressed to 10.0.0.2

A reply addressed to the uplink's own address outside, and *the same packet* (same IP id and
payload) addressed to the container inside: only NAT, undoing its rewrite, turns one into the
other. Like every check (``netlab.teach.checks``), this looks at the result, never at how you got it.
"""

from __future__ import annotations

from netlab.capture import Capture
from netlab.plumbing.i18n import _
from netlab.teach.checks import CheckResult
from netlab.view.packets import journeys

__all__ = ["nat_reply_captured"]


def nat_reply_captured(capture: Capture | None, *, inside: str, outside: str) -> CheckResult:
    """The exercise "capture the reply that proves NAT happened" (see the module docstring)."""
    result = CheckResult(_("capture the reply that proves NAT happened"))

    def need(ok: bool, passed: str, failed: str, hint: str) -> bool:
        result.steps.append((passed if ok else failed, ok))
        result.hint = "" if ok else hint
        return ok

    packets = list(capture) if isinstance(capture, Capture) else []
    start = _("start a capture, e.g. proof = capture(POINTS, proto='icmp'), before c1 talks outside; stop it after")
    missing = _("no capture yet") if not isinstance(capture, Capture) else _("the capture holds no packets")
    if not need(bool(packets), _("the capture holds {count} packets").format(count=len(packets)), missing, start):
        return result
    replies = [j for j in journeys(packets) if any(p.dst == outside for p in j.sightings)]
    outside_points = sorted({p.point for j in replies for p in j.sightings if p.dst == outside})
    if not need(
        bool(replies),
        _("a reply to {outside} was captured at {points}").format(outside=outside, points=", ".join(outside_points)),
        _("no packet addressed to {outside} was captured").format(outside=outside),
        _("capture outside too, where replies come back to {outside}: the uplink (or the internet's eth0)").format(
            outside=outside
        ),
    ):
        return result
    proof = next((j for j in replies if any(p.dst == inside for p in j.sightings)), None)
    where = next((p.point for p in proof.sightings if p.dst == inside), "") if proof else ""
    need(
        proof is not None,
        _("the same reply was captured again at {where}, now addressed to {inside}").format(where=where, inside=inside),
        _("no reply was seen again addressed to {inside}").format(inside=inside),
        _(
            "capture inside as well, in the same capture (c1's eth0 or br0): the reply after NAT rewrote it to {inside}"
        ).format(inside=inside),
    )
    return result
