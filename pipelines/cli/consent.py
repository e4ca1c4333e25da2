"""Consent review: calls the policy holds because nobody was told they were recorded, recordings
stopped against the policy, and recordings kept out of analytics (docs/consent.md)."""

from __future__ import annotations

import click

from pipelines.cli.common import _audit_ready, _governor, _key, _pseudonymiser, _warehouse
from pipelines.cli.group import main
from pipelines.cli.rights import _REASON, erase


@main.group()
def consent() -> None:
    """Consent review (a governance role's): list, release or erase held calls."""


@consent.command("list")
@click.option("--pending", is_flag=True, help="only the held calls awaiting a decision")
def consent_list(pending: bool) -> None:
    """Every call a consent case applies to whose action is not `use`, oldest first."""
    from assets.canon import consent as domain

    with _warehouse(read_only=True) as conn:
        _governor(conn)  # the list names calls: a governance role's to see
        cases = domain.listed(conn, pending_only=pending)
    for c in cases:
        state = c.decision or ("awaiting review" if c.action == "hold_for_review" else "")
        click.echo(f"{c.call_id or '(call gone)':32} {c.call_date}  {c.case:20} {c.action:22} {state}")
    click.echo(f"{len(cases)} call case(s)" + (" awaiting review" if pending else ""))


def _decide(call_id: str, decision: str, reason: str):
    from assets.access import audit
    from assets.canon import consent as domain

    _audit_ready()
    with _warehouse() as conn:
        who, role = _governor(conn)
        try:
            return domain.decide(conn, audit.chain_key(_key("pseudonym")), _pseudonymiser(), call_id, decision,
                                 who=who, role=role, reason=reason)
        except domain.ConsentError as exc:
            raise click.ClickException(str(exc)) from None


@consent.command("release")
@click.argument("call_id")
@_REASON
def consent_release(call_id: str, reason: str) -> None:
    """Release a held call: it goes through the canon, themes and marts now."""
    day = _decide(call_id, "released", reason)
    from pipelines.runner import dagster_instance, reprocess

    with dagster_instance() as instance:
        reprocess(instance, [day], log=click.echo)
    click.echo(f"released; call date {day} processed again")


@consent.command("erase")
@click.argument("call_id")
@_REASON
@click.pass_context
def consent_erase(ctx: click.Context, call_id: str, reason: str) -> None:
    """Erase a held call: the erasure runs as `callcanon erase` (a legal hold keeps the call), then
    the decision is recorded if the call is gone."""
    from assets.canon import consent as domain

    with _warehouse(read_only=True) as conn:
        _governor(conn)
        if not any(c.call_id == call_id for c in domain.listed(conn, pending_only=True)):
            raise click.ClickException("no call awaiting a consent review has that id")
    ctx.invoke(erase, kind="call", value=call_id, reason=reason, dry_run=False, names=())
    with _warehouse(read_only=True) as conn:
        gone = not any(c.call_id == call_id for c in domain.listed(conn))
    if not gone:
        raise click.ClickException("the call is under a legal hold and was kept: it stays held for review")
    _decide(call_id, "erased", reason)
