"""The access layer: the only way to personal data (audio, transcripts, exports), since the
Dagster UI has no login. Every attempt names a user, a role from the policy profile, a purpose
and a reason; it is decided by the policy, and recorded in the audit trail whether granted or
refused. Analysts' roles reach the canon and marts only, which need no access request.

Decisions, in order (the first that fails refuses): the role exists; it may do the action; it
may give the purpose; the reason says something (browsing is refused); audio downloads only for
the policy's download purposes; a purpose that needs approval (disciplinary, police) has a
recorded approval from an authorising role for this user and call; a role scoped to its own
calls is the call's staff member; the call exists; the request fields given (staff member,
external number, date of the call) agree with the call's record; a call whose consent case limits
its purposes (a GP recording stopped on request) is reached only for those.

Audio and casework text are sealed at rest (`assets.audio.vault`, `assets.sealed_text`): they are
opened here, after the decision and its audit record, into memory for listening or reading, or
into the requester's folder for a download.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from assets import locations, warehouse
from assets.access import audit, identities, releases, traces
from assets.access.requests import AccessRefused, AccessRequest, CallQuery, says_something
from assets.access.subjects import call_ref, matching_calls
from assets.audio import vault as audio_vault
from assets.canon import consent
from assets.pii.pseudonymiser import Pseudonymiser
from assets.policy import PERSONAL_ACTIONS, Policy
from assets.sealed_text import TRANSCRIPT

# What an export and a subject access package give of a call's record: the modelled fields.
EXPORTED_FIELDS = ("call_id", "call_date", "started_at", "direction", "staff_id", "team", "external_number",
                   "complaint_id", "case_last_activity", "service_area", "privacy_notice_played",
                   "recording_stopped_on_request", "channels")


def _expect(req: AccessRequest, action: str) -> None:
    if req.action != action:
        raise ValueError(f"this is a {action} request, not {req.action}")


class AccessLayer:
    def __init__(self, conn, policy: Policy, pseudonymiser: Pseudonymiser, pseudonym_key: bytes,
                 vault: audio_vault.AudioVault, head: Path | None = None):
        self.conn, self.policy, self.pseudonymiser, self.vault = conn, policy, pseudonymiser, vault
        self.key, self.head = audit.chain_key(pseudonym_key), head

    # --- deciding -----------------------------------------------------------------------

    def policy_refusal(self, req: AccessRequest) -> tuple[str, str] | None:
        """What the policy says before any call is looked at: who, which role, what, why. Nothing
        here depends on the call, so a refusal from it says nothing about whether a call exists."""
        role = self.policy.access.roles.get(req.role)
        if role is None:
            return "unknown_role", f"no role '{req.role}' in the {self.policy.name} policy"
        if not identities.holds(self.conn, req.user, req.role):  # roles are granted, never claimed
            return "role_not_granted", f"the {req.role} role is not granted to {req.user}"
        if req.action not in PERSONAL_ACTIONS or req.action not in role.may:
            return "action_not_allowed", f"a {req.role} may not {req.action.replace('_', ' ')}"
        if req.purpose not in role.purposes:
            return "purpose_not_allowed", f"a {req.role} may not act for '{req.purpose}'"
        if not says_something(req.reason):
            return "no_reason", "give the reason for this access (browsing without a reason is not permitted)"
        if req.action == "download_audio" and req.purpose not in self.policy.access.download_purposes:
            return "download_purpose", (f"audio may be downloaded only for "
                                        f"{', '.join(self.policy.access.download_purposes)}")
        if req.purpose in self.policy.access.needs_approval:
            if req.action == "search_calls":  # four-eyes is per call: no trawling for a police purpose
                return "needs_approval", f"'{req.purpose}' is not a purpose to search calls for"
            if self._approval(req) is None:
                return "needs_approval", (f"'{req.purpose}' releases need a recorded approval of this action "
                                          "by another person in an authorising role first")
        return None

    def _refusal(self, req: AccessRequest, call: tuple | None) -> tuple[str, str] | None:
        refusal = self.policy_refusal(req)
        if refusal or req.action == "search_calls":
            return refusal
        if call is None:
            return "no_such_call", "no such call"
        mismatch = self._contradiction(req, call)
        if mismatch:
            # Which value the record holds is not said: the requester may have the wrong call.
            return "request_mismatch", f"the request's {mismatch} does not match the call's record: check the call id"
        role = self.policy.access.roles[req.role]
        if role.scope == "own_calls" and (not call[1] or call[1].lower() != self._staff_id(req.user)):
            return "not_own_call", f"a {req.role} may reach only calls where they are the staff member"
        limit = consent.only_for(self.policy, *call[6:9])
        if limit is not None and req.purpose not in limit:
            return "consent_limited", (f"this recording was stopped at the caller's request: it may be reached only "
                                       f"for {', '.join(limit)}")
        return None

    def _staff_id(self, user: str) -> str | None:
        """Whose calls are "own": the staff id an administrator recorded for the identity."""
        staff = identities.staff_id(self.conn, identities.normalise(user))
        return staff.lower() if staff else None

    def _contradiction(self, req: AccessRequest, call: tuple) -> str | None:
        """The request field (if any) that contradicts the call record: a request naming one
        call's details with another call's id is the wrong person's data about to be opened."""
        if req.staff_member and call[1] and req.staff_member.strip().lower() != call[1].lower():
            return "staff member"
        token = self.pseudonymiser.token
        if (req.external_number and call[2]
                and token("PHONE_NUMBER", req.external_number) != token("PHONE_NUMBER", call[2])):
            return "external number"
        stated = re.match(r"\s*(\d{4}-\d{2}-\d{2})", req.call_time or "")
        if stated and stated.group(1) != str(call[4]):
            return "call date"
        return None

    def _approval(self, req: AccessRequest) -> int | None:
        """The audit seq of a live approval of exactly this action on this call, for this purpose
        and person: approved by someone else, not yet used, not expired. One approval, one release."""
        row = self.conn.execute(
            "SELECT audit_seq FROM governance.access_approvals WHERE call_ref = ? AND purpose = ? AND for_user = ? "
            "AND action = ? AND used_at IS NULL AND expires_at > ? ORDER BY approved_at LIMIT 1",
            [call_ref(req.call_id), req.purpose, identities.normalise(req.user), req.action,
             warehouse.utcnow()]).fetchone()
        return row[0] if row else None

    def _request_fields(self, req: AccessRequest) -> str:
        """The request fields as the audit keeps them: numbers as tokens, free text pseudonymised."""
        p = self.pseudonymiser
        return json.dumps({
            "call_time": req.call_time, "staff_member": req.staff_member,
            "external_number": p.token("PHONE_NUMBER", req.external_number) if req.external_number else None,
            "parties": p.redact(req.parties).text if req.parties else None,
            "nature": p.redact(req.nature).text if req.nature else None,
            "session": req.session,
        }, sort_keys=True)

    def _record(self, req: AccessRequest, outcome: str, number: str | None, object: str | None = None) -> int:
        return audit.append(
            self.conn, self.key, actor=req.user, role=req.role, action=req.action, outcome=outcome,
            object=object or call_ref(req.call_id),
            subject=self.pseudonymiser.token("PHONE_NUMBER", number) if number else None,
            purpose=req.purpose, reason=self.pseudonymiser.redact(req.reason or "").text,
            request=self._request_fields(req), head=self.head)

    def search_calls(self, req: AccessRequest, query: CallQuery) -> list[str]:
        """Calls matching a rights request's criteria (date range, staff member, external
        number in any format, complaint, person's name). Names are matched through casework
        (`casework.call_pseudonyms`: the tokens each personal transcript produced), never the
        canon. Audited with the criteria as tokens."""
        _expect(req, "search_calls")
        refusal = self._refusal(req, None)
        number_token = (self.pseudonymiser.token("PHONE_NUMBER", query.external_number)
                        if query.external_number else None)
        person_token = self.pseudonymiser.token("PERSON", query.person_name) if query.person_name else None
        criteria = json.dumps({"from": str(query.date_from) if query.date_from else None,
                               "to": str(query.date_to) if query.date_to else None,
                               "staff_member": query.staff_member, "external_number": number_token,
                               "complaint": call_ref(query.complaint_id) if query.complaint_id else None,
                               "person": person_token, "session": req.session}, sort_keys=True)
        if refusal is None and not any((query.date_from, query.date_to, query.staff_member, query.external_number,
                                        query.complaint_id, query.person_name)):
            refusal = ("no_criteria", "give at least one search criterion (listing every call is browsing)")
        outcome = f"refused:{refusal[0]}" if refusal else "granted"
        seq = audit.append(self.conn, self.key, actor=req.user, role=req.role, action=req.action, outcome=outcome,
                           subject=number_token or person_token, purpose=req.purpose,
                           reason=self.pseudonymiser.redact(req.reason or "").text, request=criteria, head=self.head)
        if refusal:
            raise AccessRefused(refusal[0], refusal[1], seq)
        where, params = ["true"], []
        for sql, value in (("call_date >= ?", query.date_from), ("call_date <= ?", query.date_to),
                           ("staff_id = ?", query.staff_member), ("complaint_id = ?", query.complaint_id)):
            if value is not None:
                where.append(sql)
                params.append(value)
        if person_token:
            where.append("call_id IN (SELECT call_id FROM casework.call_pseudonyms WHERE token = ?)")
            params.append(person_token)
        if number_token:  # any format of the number: the same matching as erasure and holds
            where.append("call_id IN (SELECT unnest(?))")
            params.append(matching_calls(self.conn, self.pseudonymiser, "number", number_token))
        rows = self.conn.execute(f"SELECT call_id FROM casework.calls WHERE {' AND '.join(where)} "
                                 "ORDER BY call_date, call_id", params).fetchall()
        return [r[0] for r in rows]

    def subject_access_package(self, req: AccessRequest, query: CallQuery, dest_dir: Path) -> Path:
        """A subject access / portability package (`assets.access.packages`)."""
        from assets.access import packages

        return packages.subject_access_package(self, req, query, dest_dir)

    def mentions(self, query: CallQuery, own: list[str]) -> dict[str, list[str]]:
        """Where else a granted search's number or name is held: other calls' unknown sidecar
        fields, {call_id: [field]} (the values are the subject's own identifiers)."""
        ids = traces.Identifiers.of([query.external_number], [query.person_name] if query.person_name else [])
        return traces.mentions_in_extras(self.conn, ids, exclude=own)

    def authorise(self, req: AccessRequest) -> tuple:
        """The call's record (call_id, staff_id, external_number, audio_path, call_date) if the
        policy allows the request; AccessRefused otherwise. Either way, audited."""
        call = self.conn.execute(
            "SELECT call_id, staff_id, external_number, audio_path, call_date, audio_deleted_at, direction, "
            "privacy_notice_played, recording_stopped_on_request FROM casework.calls WHERE call_id = ?",
            [req.call_id]).fetchone()
        refusal = self._refusal(req, call)
        if refusal:
            seq = self._record(req, f"refused:{refusal[0]}", call[2] if call else None)
            raise AccessRefused(refusal[0], refusal[1], seq)
        seq = self._record(req, "granted", call[2])
        approval = self._approval(req) if req.purpose in self.policy.access.needs_approval else None
        if approval is not None:
            self.conn.execute("UPDATE governance.access_approvals SET used_at = ?, used_by_seq = ? WHERE audit_seq = ?",
                              [warehouse.utcnow(), seq, approval])
        return call

    # --- the accesses ---------------------------------------------------------------------

    def view_transcript(self, req: AccessRequest) -> str:
        _expect(req, "view_transcript")
        self.authorise(req)
        return self._transcript(req.call_id) or ""

    def listen(self, req: AccessRequest) -> io.BytesIO:
        """The audio to play, unsealed in memory: listening leaves no copy behind."""
        _expect(req, "listen")
        call = self.authorise(req)
        return self.vault.open(self._audio(call), req.call_id)

    def download(self, req: AccessRequest, dest_dir: Path) -> Path:
        """A plaintext copy of the audio in `dest_dir`: the one access that leaves the vault."""
        _expect(req, "download_audio")
        call = self.authorise(req)
        audio = self._audio(call)
        out = self.vault.unseal_to(audio, req.call_id, dest_dir / audio_vault.plain_name(audio))
        releases.record(self.conn, kind="download_audio", call_id=req.call_id, path=out, actor=req.user)
        return out

    def download_to_browser(self, req: AccessRequest) -> io.BytesIO:
        """The audio as a download the portal streams to the requester's browser, unsealed in
        memory: recorded as a release that left this host (nothing is left here to remove)."""
        _expect(req, "download_audio")
        call = self.authorise(req)
        audio = self.vault.open(self._audio(call), req.call_id)
        releases.record_sent(self.conn, kind="download_audio", call_id=req.call_id, actor=req.user,
                             to=f"browser session {req.session}")
        return audio

    def export_document(self, req: AccessRequest) -> dict:
        """The call's metadata and transcript (portability), after the audited decision. Only the
        modelled fields: the unknown sidecar fields (`extra`) may be about anyone, so none leave."""
        _expect(req, "export")
        self.authorise(req)
        meta = self.conn.execute(f"SELECT {', '.join(EXPORTED_FIELDS)} FROM casework.calls WHERE call_id = ?",
                                 [req.call_id]).fetchdf()
        return {"call": json.loads(meta.to_json(orient="records", date_format="iso"))[0],
                "transcript": self._transcript(req.call_id)}

    def _transcript(self, call_id: str) -> str | None:
        """The transcript, opened from its seal only here, after the audited decision."""
        row = self.conn.execute("SELECT text FROM casework.transcripts WHERE call_id = ?", [call_id]).fetchone()
        return self.vault.text.open(row[0], call_id, TRANSCRIPT) if row else None

    def export(self, req: AccessRequest, dest_dir: Path) -> Path:
        """The export written as JSON into `dest_dir` (the data host's route)."""
        document = self.export_document(req)
        dest_dir.mkdir(parents=True, exist_ok=True)
        out = dest_dir / f"{req.call_id}.json"
        out.write_text(json.dumps(document, indent=1))
        releases.record(self.conn, kind="export", call_id=req.call_id, path=out, actor=req.user)
        return out

    @staticmethod
    def _audio(call: tuple) -> Path:
        stored = locations.location(call[3]) if call[3] else None
        if call[5] is not None or stored is None or not stored.exists():
            raise FileNotFoundError("the call's audio is no longer held (retention or erasure)")
        return stored
