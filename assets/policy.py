"""Policy profiles: retention and consent rules as validated YAML, one file per organisation.

A typo in a policy must stop the pipeline with a clear message rather than silently keep (or
delete) data for the wrong period, so unknown keys are errors here, unlike in sidecars.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PROFILES_DIR = Path(__file__).parent / "policies"

# What retention is counted for, each on its own clock. Order is the order a sweep deletes in:
# derived data before what it was derived from, so a crash never leaves a copy without a source.
DATA_CLASSES = ("marts", "theme_assignments", "canon", "segments", "transcript", "redacted_audio", "audio")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClassDays(_Strict):
    """Days each data class is kept after the rule's anchor date."""
    audio: int = Field(gt=0)
    redacted_audio: int = Field(gt=0)
    transcript: int = Field(gt=0)
    segments: int = Field(gt=0)
    canon: int = Field(gt=0)
    theme_assignments: int = Field(gt=0)
    marts: int = Field(gt=0)

    @model_validator(mode="after")
    def _marts_follow_assignments(self):
        # The marts are aggregates rebuilt from theme assignments after every sweep, so a call
        # leaves them exactly when its assignment goes; another period could not be honoured.
        if self.marts != self.theme_assignments:
            raise ValueError("marts must equal theme_assignments (marts are rebuilt from the assignments)")
        # Assignments are derived from the canon and counted against its calls: none may outlive it.
        if self.theme_assignments > self.canon:
            raise ValueError("theme_assignments may not be kept longer than canon (themes are read from the canon)")
        return self


class RetentionRule(_Strict):
    """Kept through `anchor + days[class]`, deleted from the day after; the one computation of it
    is the SQL in `assets.retention.expiry`."""

    anchor: Literal["call", "case_last_activity"]
    days: ClassDays


class Retention(_Strict):
    linked: RetentionRule      # calls linked to a complaint
    unlinked: RetentionRule


# What a person can do. Only the last two reach no personal data; `search_calls` (which calls a
# person, number or staff member was on) is personal data in itself.
ACTIONS = ("listen", "view_transcript", "export", "download_audio", "search_calls", "view_canon", "view_marts")
PERSONAL_ACTIONS = ("listen", "view_transcript", "export", "download_audio", "search_calls")


class Role(_Strict):
    may: list[Literal[ACTIONS]]
    purposes: list[str]                                  # the purposes this role may give
    scope: Literal["all_calls", "own_calls"] = "all_calls"  # own: calls where they are the staff member
    authorises: list[str] = []                           # purposes whose releases this role approves


class Access(_Strict):
    roles: dict[str, Role]
    download_purposes: list[str]   # audio leaves the system only for these
    needs_approval: list[str]      # purposes released only after an authorising role approves
    # Roles that run the governance actions (erasure, restriction, legal holds, case activity, a
    # retention sweep by hand) and read the audit trail; by default the roles that authorise releases.
    governance_roles: list[str] | None = None

    @model_validator(mode="after")
    def _approvable(self):
        for purpose in self.needs_approval:
            if not any(purpose in r.authorises for r in self.roles.values()):
                raise ValueError(f"no role authorises '{purpose}', which needs approval")
        for role in self.governance_roles or []:
            if role not in self.roles:
                raise ValueError(f"governance_roles names '{role}', which is not a role of the policy")
        return self

    def governing(self) -> list[str]:
        if self.governance_roles is not None:
            return list(self.governance_roles)
        return [name for name, role in self.roles.items() if role.authorises]


# Consent (issue 22): what the pipeline does with a call whose recording notice was not played, or
# whose recording was stopped at the caller's request. A case is one of CONSENT_CASES; its rule
# one of CONSENT_ACTIONS (see docs/consent.md):
#   use                    the call goes through every stage as any other
#   hold_for_review        kept out of the canon, themes and marts and listed for governance, who
#                          release it (it then goes through) or erase it, with a reason
#   keep_out_of_analytics  kept as casework only, never in the canon, themes or marts
#   policy_exception       goes through, and is listed and counted as a breach of the policy
CONSENT_CASES = ("no_notice_inbound", "no_notice_outbound", "notice_unknown", "stopped_on_request")
CONSENT_ACTIONS = ("use", "hold_for_review", "keep_out_of_analytics", "policy_exception")


class ConsentRule(_Strict):
    action: Literal[CONSENT_ACTIONS]
    # The only purposes anyone may reach such a call for (None: whatever the role may give).
    only_for: list[str] | None = None


class Consent(_Strict):
    """Every case must be given: a policy that leaves one undefined fails at start. A bare action
    (`no_notice_outbound: use`) is short for `{action: use}`."""
    no_notice_inbound: ConsentRule
    no_notice_outbound: ConsentRule
    notice_unknown: ConsentRule     # the telephony export does not say whether the notice played
    stopped_on_request: ConsentRule

    @model_validator(mode="before")
    @classmethod
    def _bare_actions(cls, data):
        if isinstance(data, dict):
            return {k: {"action": v} if isinstance(v, str) else v for k, v in data.items()}
        return data

    def rule(self, case: str) -> ConsentRule:
        return getattr(self, case)


class AuditRetention(_Strict):
    """How long the audit trail's records are kept (days after each was recorded); the retention
    schedule removes older ones behind a signed checkpoint (`assets.access.audit_retention`)."""
    keep_days: int = Field(gt=0)


# NHS statistics suppress published counts of 1 to 7: no policy may publish smaller counts.
NHS_SUPPRESS_BELOW = 8


class Policy(_Strict):
    name: str
    callers_may_stop_recording: bool
    retention: Retention
    access: Access
    consent: Consent
    audit: AuditRetention
    # Published counts of 1 to suppress_below-1 are suppressed (marts and phrase search). Policy,
    # not a setting: whoever reads the counts must not be able to lower it.
    suppress_below: int = Field(NHS_SUPPRESS_BELOW, ge=NHS_SUPPRESS_BELOW)

    @model_validator(mode="after")
    def _consent_fits_the_policy(self):
        stopped = self.consent.stopped_on_request.action
        if not self.callers_may_stop_recording and stopped == "use":
            raise ValueError("consent.stopped_on_request: callers may not stop recording under this policy, so a "
                             "stopped call cannot simply be used (policy_exception or hold_for_review)")
        if self.callers_may_stop_recording and stopped == "policy_exception":
            raise ValueError("consent.stopped_on_request: callers may stop recording under this policy, so a "
                             "stopped call is no exception to it")
        purposes = {p for role in self.access.roles.values() for p in role.purposes}
        for case in CONSENT_CASES:
            unknown = set(self.consent.rule(case).only_for or []) - purposes
            if unknown:
                raise ValueError(f"consent.{case}.only_for names {', '.join(sorted(unknown))}, "
                                 "which no role of the policy may give")
        # A record of who reached a call must outlive the call it is about.
        longest = max(getattr(rule.days, c) for rule in (self.retention.linked, self.retention.unlinked)
                      for c in DATA_CLASSES)
        if self.audit.keep_days < longest:
            raise ValueError(f"audit.keep_days ({self.audit.keep_days}) is shorter than the longest retention "
                             f"period ({longest} days): the record of a use would go before the data")
        return self


class PolicyError(ValueError):
    pass


def load_policy(name_or_path: str) -> Policy:
    """A shipped profile by name (`ombudsman`, `gp_practice`) or a YAML file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILES_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        shipped = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
        raise PolicyError(f"no policy '{name_or_path}' (shipped profiles: {shipped})")
    try:
        return Policy.model_validate(yaml.safe_load(path.read_text()))
    except (yaml.YAMLError, ValidationError) as exc:
        raise PolicyError(f"invalid policy file {path}: {exc}") from exc
