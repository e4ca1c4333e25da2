"""Retention and erasure: what a policy says has expired or a request names, deleted everywhere
it lives, with proof that does not itself need erasing.

Rooms: `expiry` (what is due), `deletion` (the one deletion path), `certificates`, `erasure`
(requests), `holds` (legal holds, case activity), `rewrite` (physical erasure of the file).
"""

from assets.retention.certificates import Certificate, broken_certificates, issue_certificate  # noqa: F401
from assets.retention.deletion import close_sweep, delete, delete_class, plan, retire_finished_calls, sweep  # noqa: F401
from assets.retention.erasure import erase, plan_erasure  # noqa: F401
from assets.retention.expiry import SWEPT_CLASSES, Due, due, due_dates  # noqa: F401
from assets.retention.holds import (  # noqa: F401
    held_calls,
    link_call,
    list_holds,
    place_hold,
    release_hold,
    retention_status,
    update_case,
)
from assets.retention.rewrite import rewrite_warehouse  # noqa: F401
