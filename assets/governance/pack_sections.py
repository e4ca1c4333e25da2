"""Sections of the evidence pack that report what the policy's own rules did (consent, the audit
trail's retention), kept apart from `evidence_pack` so each stays readable."""

from __future__ import annotations

from assets import key_rotation
from assets.canon import consent
from assets.policy import CONSENT_CASES, Policy

_CASE_WORDS = {
    "no_notice_inbound": "inbound, recording notice not played",
    "no_notice_outbound": "outbound, recording notice not played",
    "notice_unknown": "whether the notice played not recorded",
    "stopped_on_request": "recording stopped at the caller's request",
}


def consent_lines(conn, policy: Policy, table) -> list[str]:
    """What the policy says for each consent case, and how many calls each reached: held, released,
    erased, awaiting review; policy exceptions; kept out of analytics."""
    counts = consent.summary(conn)
    rows = []
    for case in CONSENT_CASES:
        rule = policy.consent.rule(case)
        n = counts.get((case, rule.action), {"calls": 0, "pending": 0, "released": 0, "erased": 0})
        earlier = sum(v["calls"] for (c, a), v in counts.items() if c == case and a != rule.action)
        rows.append([_CASE_WORDS[case], f"`{rule.action}`" + (f" (only for {', '.join(rule.only_for)})"
                                                              if rule.only_for else ""),
                     n["calls"], n["pending"], n["released"], n["erased"]]
                    + ([f"{earlier} under an earlier rule"] if earlier else [""]))
    exceptions = sum(v["calls"] for (c, a), v in counts.items() if a == "policy_exception")
    return [
        "## 6. Consent",
        "",
        f"Recording notice and stopped recordings, under the `{policy.name}` policy (callers "
        + ("may" if policy.callers_may_stop_recording else "may not") + " have recording stopped). A held call "
        "stays out of the canon, themes and marts until a governance role releases or erases it "
        "(`callcanon consent`); every decision is in the audit trail.",
        "",
        *table(["case", "policy's action", "calls", "awaiting review", "released", "erased", ""], rows),
        "",
        f"Policy exceptions reported: {exceptions}.",
        "",
    ]


def audit_retention_line(policy: Policy, chain) -> str:
    """How long the audit trail is kept, and the checkpoint its verification started from."""
    start = chain.checkpoint
    return (f"Audit records are kept {policy.audit.keep_days} days (policy `audit.keep_days`); "
            + (f"older ones were removed behind a signed checkpoint: the chain starts after record {start.seq} "
               f"(records from before {start.cut_before} removed)." if start
               else "none has been removed yet: the chain starts at its first record."))


def keys_lines(conn, clear: int) -> list[str]:
    """Key ages, and whether casework text is sealed at rest (`clear`: cells in clear)."""
    ages = key_rotation.key_ages(conn)
    return [
        f"Key age: audio key {ages['audio']}; pseudonym key {ages['pseudonym']} "
        "(`callcanon keys rotate-audio`; docs/access.md, \"Key rotation\"). "
        + ("Every casework transcript, segment and word is sealed at rest." if not clear
           else f"**{clear} casework text cells are stored in clear: run `callcanon seal-store`.**"),
        "",
    ]
