"""Retention and erasure: what a policy says has expired or a request names, deleted everywhere
it lives, with proof that does not itself need erasing. Other stages and the CLI call what is
re-exported here."""

from assets.retention.deletion import (  # noqa: F401 - the stage's public face
    Due,
    SWEPT_CLASSES,
    broken_certificates,
    delete,
    due_dates,
    erase,
    issue_certificate,
    link_call,
    place_hold,
    plan,
    plan_erasure,
    release_hold,
    retire_finished_calls,
    rewrite_warehouse,
    sweep,
    sweep_class,
    update_case,
)
