"""Key rotation on the data host (a governance role's): `callcanon keys rotate-audio`."""

from __future__ import annotations

import click

from pipelines.cli.common import _audit_ready, _governor, _key, _pseudonymiser, _warehouse
from pipelines.cli.group import main
from pipelines.cli.rights import _REASON


@main.group("keys")
def keys_group() -> None:
    """Rotate the keys that protect stored data (docs/access.md, "Key rotation")."""


@keys_group.command("rotate-audio")
@_REASON
def rotate_audio(reason: str) -> None:
    """Reseal every stored recording and casework text cell under a new audio key, then swap the
    key files (the old key is kept apart). Safe to kill and run again; holds the warehouse."""
    from assets import keys
    from assets.access import audit
    from assets.key_rotation import rotate_audio as rotate

    _audit_ready()
    _key("audio")
    with _warehouse() as conn:
        who, role = _governor(conn)
        try:
            done = rotate(conn, audit.chain_key(_key("pseudonym")), _pseudonymiser(), who=who, role=role,
                          reason=reason, progress=click.echo)
        except keys.SecretError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"rotated: {done.files} files and {done.cells} text cells resealed"
               + (" (an interrupted rotation finished)" if done.resumed else "")
               + f"; destroy {done.retired_key} once no backup made under it is kept")


@keys_group.command("rotate-pseudonym")
@_REASON
@click.option("--drop-unmatched", is_flag=True,
              help="drop restrictions and legal holds on a number or person no held call can carry over to the "
                   "new key (refused otherwise)")
def rotate_pseudonym(reason: str, drop_unmatched: bool) -> None:
    """Pseudonymise the canon again under a new pseudonym key, carry restrictions and legal holds
    over, refit the themes, rebuild the marts, publish the analytics copy, record the rotation in
    governance, then swap the key files. Safe to kill and run again; run it with the pipeline idle."""
    from datetime import UTC, datetime

    from assets import key_rotation, keys
    from assets import pseudonym_rotation as rotation
    from assets.access import audit
    from assets.pii.pseudonymiser import Pseudonymiser
    from pipelines.cli.common import _vault
    from pipelines.runner import dagster_instance, repseudonymise

    _audit_ready()
    with _warehouse() as conn:
        who, role = _governor(conn)  # before anything is written
    try:
        old = keys.PSEUDONYM.load_current()
        keys.save_chain_key(audit.chain_key(old))  # the audit chain keeps its key, before anything changes
        new, fresh = keys.begin_rotation(keys.PSEUDONYM)
    except keys.SecretError as exc:
        raise click.ClickException(str(exc)) from None
    kid = rotation.key_id(new)
    click.echo(("new pseudonym key " if fresh else "resuming the rotation to pseudonym key ") + kid)
    old_p, new_p = Pseudonymiser(old), Pseudonymiser(new)
    plan_file = keys.next_path(keys.PSEUDONYM).with_name("pseudonym.key.next.plan.json")
    if fresh:
        plan_file.unlink(missing_ok=True)
    with _warehouse() as conn:
        if plan_file.exists():
            carried = rotation.load_plan(plan_file)  # made before anything changed
        else:
            carried = rotation.plan(conn, old_p, new_p, _vault().text)
            if carried.lost and not drop_unmatched:
                if fresh:
                    keys.next_path(keys.PSEUDONYM).unlink()  # nothing else has changed
                raise click.ClickException(
                    f"{len(carried.lost)} restriction(s) or legal hold(s) on a number or person cannot be carried "
                    "over (no held call has that number or person any more): rerun with --drop-unmatched to drop "
                    "them, after noting them to re-enter by value once the rotation is done")
            rotation.save_plan(plan_file, carried)
        changed = rotation.carry_over(conn, carried)
        already = carried.already + len(carried.changes) - changed
        dropped = rotation.drop_lost(conn, carried) if carried.lost else 0
        dates = rotation.dates_to_redo(conn)
        stale = rotation.canon_rows_without_transcript(conn)
    click.echo(f"restrictions and legal holds carried over: {changed} ({already} already), dropped: "
               f"{dropped}; {len(dates)} call date(s) to pseudonymise again")
    with dagster_instance() as instance:
        repseudonymise(instance, dates, log=click.echo)
    with _warehouse() as conn:
        key_rotation.record(conn, audit.chain_key(new), new_p, "pseudonym", kid, who=who, role=role, reason=reason,
                            details={"call_dates": len(dates), "references_carried": changed, "dropped": dropped,
                                     "canon_rows_kept_under_old_key": stale})
    upcoming = keys.next_path(keys.PSEUDONYM)
    stamp = datetime.fromtimestamp(upcoming.stat().st_mtime, UTC).strftime("%Y%m%dT%H%M%SZ")
    plan_file.unlink(missing_ok=True)  # before the swap: a plan never outlives its key
    retired = keys.finish_rotation(keys.PSEUDONYM, stamp)
    click.echo(f"pseudonym key rotated to {kid}; the old key is kept at {retired}: destroy it once no backup "
               "made under it is kept" + (f"; {stale} canon rows whose transcripts are gone keep the old tokens "
                                          "until they expire" if stale else ""))
