"""People's use of personal data: the access layer's commands and the audit trail."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from assets.settings import Settings
from pipelines.cli.common import _key, _pseudonymiser, _vault, _warehouse
from pipelines.cli.group import main


@main.group("audit")
def audit_group() -> None:
    """The audit trail of every use of personal data."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Walk the hash chain and check its signed heads: exit 1 if any record was edited, removed or
    reordered, the chain was cut short, emptied or re-keyed, or a head is not validly signed."""
    from assets import keys
    from assets.access import audit
    try:
        public_key = keys.load_audit_signing_key().public_key()
    except keys.SecretError as exc:
        raise click.ClickException(str(exc)) from exc
    with _warehouse(read_only=True) as conn:
        result = audit.verify(conn, audit.chain_key(_key("pseudonym")), public_key=public_key)
    click.echo(f"witness {audit.witness_path()}: {result.witnessed} signed heads checked "
               f"(signing key {audit.fingerprint(public_key)})")
    if result.ok:
        start = result.checkpoint
        click.echo(f"{result.records} records, chain intact (head {audit.head_path()})"
                   + (f"; it starts from the signed checkpoint after record {start.seq} (audit retention removed "
                      f"the records from before {start.cut_before})" if start else ""))
        return
    for problem in result.problems:
        click.echo(f"TAMPERED: {problem}")
    sys.exit(1)


# Who is asking is the operating-system account (`os:NAME`), never typed; the role must be one an
# administrator granted it (`callcanon users grant`). People use the portal; this is the data host's.
_REQUEST = [
    click.option("--role", required=True, help="a role of the policy profile granted to this account"),
    click.option("--purpose", required=True, help="e.g. complaint_handling, quality, subject_access, police"),
    click.option("--reason", required=True, help="why, in words (browsing is refused)"),
    click.option("--call-time", help="date and time of the call, if known"),
    click.option("--staff-member", help="staff member on the call, if known"),
    click.option("--number", "external_number", help="external number involved, if known"),
    click.option("--parties", help="names of the parties, where possible (stored pseudonymised)"),
    click.option("--nature", help="anything else on the nature of the call (stored pseudonymised)"),
]


def _access_layer(conn):
    from assets.access.layer import AccessLayer
    from assets.policy import load_policy

    return AccessLayer(conn, load_policy(Settings.from_env().policy), _pseudonymiser(), _key("pseudonym"), _vault())


def _access(action: str):
    """A personal-data access command: the request options, then the policy decides; a refusal
    is a one-line error (and is audited, like every attempt)."""
    def wrap(f):
        @functools.wraps(f)
        def command(call_id, **kwargs):
            from assets.access.governance_log import os_identity
            from assets.access.layer import AccessRefused, AccessRequest
            from assets.audio.decoding import AudioProblem

            fields = {k: kwargs.pop(k) for k in ("role", "purpose", "reason", "call_time",
                                                  "staff_member", "external_number", "parties", "nature")}
            req = AccessRequest(user=os_identity(), action=action, call_id=call_id, **fields)
            with _warehouse() as conn:
                try:
                    return f(_access_layer(conn), req, **kwargs)
                except AccessRefused as exc:
                    raise click.ClickException(str(exc)) from exc
                except (FileNotFoundError, AudioProblem) as exc:
                    raise click.ClickException(str(exc)) from exc
        for option in reversed(_REQUEST):
            command = option(command)
        return click.argument("call_id")(command)
    return wrap


@main.group()
def access() -> None:
    """Reach personal data: every request names user, role, purpose and reason, and is audited."""


@access.command("transcript")
@_access("view_transcript")
def access_transcript(layer, req) -> None:
    """Show a call's transcript."""
    click.echo(layer.view_transcript(req))


@access.command("listen")
@_access("listen")
def access_listen(layer, req) -> None:
    """Write a call's audio, unsealed, to stdout for a player: no copy is made on disk.

    e.g. `callcanon access listen CALL ... | ffplay -nodisp -autoexit -`"""
    out = click.get_binary_stream("stdout")
    if out.isatty():
        raise click.ClickException("pipe the audio to a player, e.g. `| ffplay -nodisp -autoexit -`")
    out.write(layer.listen(req).getvalue())
    out.flush()


@access.command("download")
@_access("download_audio")
@click.option("--to", "dest", type=click.Path(file_okay=False, path_type=Path), required=True)
def access_download(layer, req, dest: Path) -> None:
    """Copy a call's audio out (only for the policy's download purposes)."""
    click.echo(str(layer.download(req, dest)))


@access.command("export")
@_access("export")
@click.option("--to", "dest", type=click.Path(file_okay=False, path_type=Path), required=True)
def access_export(layer, req, dest: Path) -> None:
    """Write a call's metadata and transcript as JSON."""
    click.echo(str(layer.export(req, dest)))


_CRITERIA = [
    click.option("--from", "date_from", type=click.DateTime(formats=["%Y-%m-%d"]), help="first call date"),
    click.option("--to-date", "date_to", type=click.DateTime(formats=["%Y-%m-%d"]), help="last call date"),
    click.option("--staff", "staff_member", help="staff member on the call"),
    click.option("--caller-number", "number", help="external number, any format"),
    click.option("--complaint", "complaint_id"),
    click.option("--name", "person_name", help="a person's name (matched through casework, never the canon)"),
]


def _rights_request(f):
    """Options and error handling shared by the rights-request commands."""
    @functools.wraps(f)
    def command(role, purpose, reason, date_from, date_to, staff_member, number, complaint_id,
                person_name, **kwargs):
        from assets.access.governance_log import os_identity
        from assets.access.layer import AccessRefused, AccessRequest, CallQuery

        query = CallQuery(date_from.date() if date_from else None, date_to.date() if date_to else None,
                          staff_member, number, complaint_id, person_name)
        with _warehouse() as conn:
            try:
                return f(_access_layer(conn), AccessRequest(os_identity(), role, "search_calls", "", purpose, reason),
                         query, **kwargs)
            except AccessRefused as exc:
                raise click.ClickException(str(exc)) from exc
    for option in reversed(_REQUEST[:3] + _CRITERIA):
        command = option(command)
    return command


@access.command("search")
@_rights_request
def access_search(layer, req, query) -> None:
    """Find the calls a rights request is about (audited; at least one criterion)."""
    calls = layer.search_calls(req, query)
    click.echo("\n".join(calls) if calls else "no matching calls")
    for call_id, fields in layer.mentions(query, calls).items():  # also erased by `erase --name`
        click.echo(f"also held by {call_id} in unknown sidecar field(s) {', '.join(fields)}", err=True)


def _sar_command(group: click.Group) -> None:
    @group.command("sar")
    @_rights_request
    @click.option("--to", "dest", type=click.Path(file_okay=False, path_type=Path), required=True)
    def sar(layer, req, query, dest: Path) -> None:
        """Build a subject access / portability package (audio, transcripts, metadata, index)."""
        from dataclasses import replace

        package = layer.subject_access_package(replace(req, action="export"), query, dest)
        click.echo(f"package written to {package}")


_sar_command(access)
_sar_command(main)  # the same command at the top level, where a rights officer looks first


@access.command("approve")
@click.argument("call_id")
@click.option("--role", required=True, help="an authorising role granted to this account")
@click.option("--action", "action_", required=True,
              type=click.Choice(["listen", "view_transcript", "export", "download_audio"]),
              help="the one action approved (used once, lapses after 7 days)")
@click.option("--purpose", required=True, help="the release purpose, e.g. disciplinary or police")
@click.option("--for-user", required=True, help="the identity whose release this approves (not this account)")
@click.option("--reason", required=True)
def access_approve(call_id, role, action_, purpose, for_user, reason) -> None:
    """Record an approval a disciplinary or police release needs first (the portal's approvals
    queue is the usual route); the approver is this account, never the requester."""
    from assets.access import approvals
    from assets.access.governance_log import os_identity
    from assets.access.identities import IdentityError
    from assets.access.layer import AccessRefused

    with _warehouse() as conn:
        try:
            seq = approvals.approve_call(_access_layer(conn), approver=os_identity(), role=role, call_id=call_id,
                                         action=action_, purpose=purpose, for_user=for_user, reason=reason)
        except (AccessRefused, IdentityError) as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"approved (audit record {seq})")
