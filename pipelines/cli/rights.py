"""Retention and rights requests: sweeps, erasure, legal holds, case activity, restriction."""

from __future__ import annotations

import json
from datetime import date

import click

from assets.settings import Settings
from pipelines.cli.common import _pseudonymiser, _subject, _warehouse
from pipelines.cli.group import main


@main.command("retention")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Retention clock (default today).")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; change nothing.")
def retention_cmd(as_of, dry_run: bool) -> None:
    """Sweep expired data under the policy profile (what the nightly schedules do)."""
    from assets import retention
    from assets.policy import load_policy

    as_of = as_of.date() if as_of else date.today()
    if dry_run:
        with _warehouse(read_only=True) as conn:
            go, held = retention.plan(conn, load_policy(Settings.from_env().policy), _pseudonymiser(), as_of)
        for d in go:
            click.echo(f"would delete  {d.data_class:18} {d.call_id}  (call {d.call_date}, kept to {d.expires_on}, "
                       f"{d.rule})")
        for d in held:
            click.echo(f"legal hold    {d.data_class:18} {d.call_id}  (due since {d.expires_on}; kept)")
        click.echo(f"dry run as of {as_of}: {len(go)} item(s) would be deleted from "
                   f"{len({d.call_id for d in go})} call(s); {len(held)} spared by legal hold; nothing changed")
        return
    from pipelines.runner import dagster_instance, sweep_retention

    with dagster_instance() as instance:
        sweep_retention(instance, as_of, log=click.echo)


@main.command()
@_subject
@click.option("--reason", required=True, help="the request's reference (no personal data)")
@click.option("--dry-run", is_flag=True, help="List the calls that would be erased; change nothing.")
def erase(kind: str, value: str, reason: str, dry_run: bool) -> None:
    """Erasure request: delete every trace of the matching calls, rebuild the marts, rewrite
    the warehouse file, and print the certificate."""
    from assets import retention
    pseudonymiser = _pseudonymiser()
    settings = Settings.from_env()
    with _warehouse(read_only=dry_run) as conn:
        if dry_run:
            todo = retention.plan_erasure(conn, pseudonymiser, kind, value)
            for call_id in todo.calls:
                click.echo(f"would erase   {call_id}")
            for call_id in todo.held:
                click.echo(f"legal hold    {call_id}  (kept)")
            click.echo(f"dry run: {len(todo.calls)} call(s) would be erased, {len(todo.held)} kept by legal hold")
            return
        cert = retention.erase(conn, pseudonymiser, settings.policy, kind, value, reason, date.today())
    from pipelines.runner import dagster_instance, finish_erasure

    with dagster_instance() as instance:
        finish_erasure(instance)
    click.echo(json.dumps({**cert.__dict__, "as_of": str(cert.as_of)}, indent=2))


@main.group()
def hold() -> None:
    """Legal holds: suspend every deletion of a call, complaint, number or person."""


@hold.command("place")
@_subject
@click.option("--reason", required=True, help="the matter's reference (no personal data)")
def hold_place(kind: str, value: str, reason: str) -> None:
    from assets import retention
    with _warehouse() as conn:
        hold_id = retention.place_hold(conn, _pseudonymiser(), kind, value, reason)
    click.echo(f"legal hold {hold_id} placed")


@hold.command("release")
@click.argument("hold_id", type=int)
def hold_release(hold_id: int) -> None:
    from assets import retention
    with _warehouse() as conn:
        if not retention.release_hold(conn, hold_id):
            raise click.ClickException(f"no active legal hold {hold_id}")
    click.echo(f"legal hold {hold_id} released; the next sweep deletes what it was holding back")


@hold.command("list")
def hold_list() -> None:
    from assets import retention

    with _warehouse(read_only=True) as conn:
        rows = retention.list_holds(conn)
    for hold_id, kind, ref, reason, placed, released in rows:
        click.echo(f"{hold_id:>4}  {kind:9} {ref:24} {reason}  placed {placed:%Y-%m-%d}"
                   + (f", released {released:%Y-%m-%d}" if released else "  ACTIVE"))


@main.command()
@click.option("--complaint", required=True, help="complaint id")
@click.option("--last-activity", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@click.option("--link-call", default=None, help="also link this call id to the complaint")
def case(complaint: str, last_activity, link_call: str | None) -> None:
    """Record activity on a case (its calls' retention restarts from it), or link a call to it."""
    from assets import retention
    with _warehouse() as conn:
        if link_call and not retention.link_call(conn, link_call, complaint, last_activity.date()):
            raise click.ClickException(f"no call {link_call}")
        n = retention.update_case(conn, complaint, last_activity.date())
    click.echo(f"{n} call(s) of complaint {complaint}: retention now counts from {last_activity:%Y-%m-%d}")


@main.command()
@_subject
@click.option("--reason", default=None, help="the request's reference or reason (no personal data)")
def restrict(kind: str, value: str, reason: str | None) -> None:
    """Record a restriction request: the matching calls leave the canon now and stay out."""
    from assets.canon import restrictions
    with _warehouse() as conn:
        n = restrictions.restrict(conn, _pseudonymiser(), kind, value, reason)
    click.echo(f"restriction recorded; {n} call(s) withdrawn from the canon (marts follow on their next build)")


