"""Retention and rights requests: sweeps, erasure, legal holds, case activity, restriction."""

from __future__ import annotations

import json
from datetime import date

import click

from assets.settings import Settings
from pipelines.cli.common import _audit_ready, _governor, _key, _pseudonymiser, _subject, _warehouse
from pipelines.cli.group import main


def _record(conn, action: str, reason: str | None, **fields) -> None:
    """The governance command's audit record: the OS account that ran it, the governance role an
    administrator granted it, and its reason."""
    from assets.access import audit, governance_log

    who, role = _governor(conn)
    governance_log.record_action(conn, audit.chain_key(_key("pseudonym")), _pseudonymiser(), action=action,
                                 reason=reason, who=who, role=role, **fields)


def _governing() -> None:
    """Refuse before changing anything when this account holds no governance role."""
    with _warehouse() as conn:
        _governor(conn)


_REASON = click.option("--reason", required=True, help="the request's or matter's reference (no personal data)")


@main.command("retention")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Retention clock (default today).")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; change nothing.")
@click.option("--reason", default=None, help="why the sweep is run by hand now (required unless --dry-run)")
def retention_cmd(as_of, dry_run: bool, reason: str | None) -> None:
    """Sweep expired data under the policy profile (what the nightly schedules do)."""
    from assets import retention
    from assets.policy import load_policy

    as_of = as_of.date() if as_of else date.today()
    if dry_run:
        with _warehouse(read_only=True) as conn:
            _governor(conn)  # the list names calls: a governance role's to see
            go, held = retention.plan(conn, load_policy(Settings.from_env().policy), _pseudonymiser(), as_of)
        for d in go:
            click.echo(f"would delete  {d.data_class:18} {d.call_id}  (call {d.call_date}, kept to {d.expires_on}, "
                       f"{d.rule})")
        for d in held:
            click.echo(f"legal hold    {d.data_class:18} {d.call_id}  (due since {d.expires_on}; kept)")
        click.echo(f"dry run as of {as_of}: {len(go)} item(s) would be deleted from "
                   f"{len({d.call_id for d in go})} call(s); {len(held)} spared by legal hold; nothing changed")
        return
    if not reason:
        raise click.UsageError("give --reason: a sweep run by hand deletes data and is audited")
    _audit_ready()
    _governing()
    from pipelines.runner import dagster_instance, sweep_retention

    with dagster_instance() as instance:
        runs = sweep_retention(instance, as_of, log=click.echo)
    with _warehouse() as conn:
        _record(conn, "retention_sweep", reason, object=f"as_of:{as_of}", details={"dagster_runs": len(runs)})


@main.command()
@_subject
@_REASON
@click.option("--dry-run", is_flag=True, help="List the calls that would be erased; change nothing.")
@click.option("--name", "names", multiple=True,
              help="the subject's name as they give it: also matched in other calls' unknown sidecar fields and in "
                   "quarantined files (never stored)")
def erase(kind: str, value: str, reason: str, dry_run: bool, names: tuple[str, ...]) -> None:
    """Erasure request: delete every trace of the matching calls, and the subject's number (and
    name, if given) wherever else it is held (other calls' unknown fields, quarantine, releases
    written to disk); rebuild the marts, rewrite the warehouse file, and print the certificate."""
    from assets import retention
    pseudonymiser = _pseudonymiser()
    settings = Settings.from_env()
    with _warehouse(read_only=dry_run) as conn:
        _governor(conn)  # even a dry run names the subject's calls
        if dry_run:
            todo = retention.plan_erasure(conn, pseudonymiser, kind, value)
            for call_id in todo.calls:
                click.echo(f"would erase   {call_id}")
            for call_id in todo.held:
                click.echo(f"legal hold    {call_id}  (kept)")
            click.echo(f"dry run: {len(todo.calls)} call(s) would be erased, {len(todo.held)} kept by legal hold")
            return
        _audit_ready()
        cert = retention.erase(conn, pseudonymiser, settings.policy, kind, value, reason, date.today(), list(names))
        _record(conn, "erase", reason, object=cert.scope, details={"certificate": cert.certificate_id})
    from pipelines.runner import dagster_instance, finish_erasure

    with dagster_instance() as instance:
        finish_erasure(instance)
    click.echo(json.dumps({**cert.__dict__, "as_of": str(cert.as_of)}, indent=2))


@main.group()
def hold() -> None:
    """Legal holds: suspend every deletion of a call, complaint, number or person."""


@hold.command("place")
@_subject
@_REASON
def hold_place(kind: str, value: str, reason: str) -> None:
    from assets import retention
    from assets.access.subjects import call_ref, subject_ref
    _audit_ready()
    _governing()
    with _warehouse() as conn:
        hold_id = retention.place_hold(conn, _pseudonymiser(), kind, value, reason)
        _record(conn, "hold_place", reason, object=f"hold:{hold_id}",
                subject=f"{kind}:{call_ref(subject_ref(_pseudonymiser(), kind, value))}")
    click.echo(f"legal hold {hold_id} placed")


@hold.command("release")
@click.argument("hold_id", type=int)
@_REASON
def hold_release(hold_id: int, reason: str) -> None:
    from assets import retention
    _audit_ready()
    _governing()
    with _warehouse() as conn:
        if not retention.release_hold(conn, hold_id):
            raise click.ClickException(f"no active legal hold {hold_id}")
        _record(conn, "hold_release", reason, object=f"hold:{hold_id}")
    click.echo(f"legal hold {hold_id} released; the next sweep deletes what it was holding back")


@hold.command("list")
def hold_list() -> None:
    from assets import retention

    with _warehouse(read_only=True) as conn:
        _governor(conn)  # what is held names calls, complaints and numbers' tokens
        rows = retention.list_holds(conn)
    for hold_id, kind, ref, reason, placed, released in rows:
        click.echo(f"{hold_id:>4}  {kind:9} {ref:24} {reason}  placed {placed:%Y-%m-%d}"
                   + (f", released {released:%Y-%m-%d}" if released else "  ACTIVE"))


@main.command()
@click.option("--complaint", required=True, help="complaint id")
@click.option("--last-activity", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@click.option("--link-call", default=None, help="also link this call id to the complaint")
@_REASON
def case(complaint: str, last_activity, link_call: str | None, reason: str) -> None:
    """Record activity on a case (its calls' retention restarts from it), or link a call to it."""
    from assets import retention
    from assets.access.subjects import call_ref
    _audit_ready()
    _governing()
    with _warehouse() as conn:
        if link_call and not retention.link_call(conn, link_call, complaint, last_activity.date()):
            raise click.ClickException(f"no call {link_call}")
        n = retention.update_case(conn, complaint, last_activity.date())
        _record(conn, "case_activity", reason, object=f"complaint:{call_ref(complaint)}",
                details={"last_activity": last_activity.date(), "calls": n,
                         "linked_call": call_ref(link_call) if link_call else None})
    click.echo(f"{n} call(s) of complaint {complaint}: retention now counts from {last_activity:%Y-%m-%d}")


@main.command()
@_subject
@_REASON
def restrict(kind: str, value: str, reason: str) -> None:
    """Record a restriction request: the matching calls leave the canon, and the analytics copy
    analysts read, now and stay out."""
    from assets.access.subjects import call_ref, subject_ref
    from assets.canon import restrictions
    from assets.warehouse import analytics
    _audit_ready()
    _governing()
    settings = Settings.from_env()
    with _warehouse() as conn:
        n = restrictions.restrict(conn, _pseudonymiser(), kind, value, reason)
        _record(conn, "restrict", reason, subject=f"{kind}:{call_ref(subject_ref(_pseudonymiser(), kind, value))}",
                details={"calls": n})
        if n:
            analytics.publish(conn, settings.analytics_path, settings.analytics_group)
    click.echo(f"restriction recorded; {n} call(s) withdrawn from the canon and the analytics copy "
               "(the marts' counts follow on their next build)")


