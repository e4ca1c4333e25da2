"""Retention benchmark: how a sweep of expired calls grows from 10 000 to 100 000 calls.

The sweep is the scheduled path: `retention.sweep` is exactly what the nightly retention job's
assets call, `delete_class` for each data class in the schedule's order (each under one
checkpoint) and then `close_sweep` (the certificate asset); here over every call date at once, as
a backlog, where the schedule runs one call date per run.

Each call is written with every data class (two small files: audio and its redacted copy;
rows in nine tables) by `assets.synthetic.warehouse_rows`, all past every retention period, so the
sweep takes each call through its whole end of life: six data classes, the call record, the
deletion log and a certificate. Measured in the same run, on an identical copy:

- the floor: unlinking the same files and one `DELETE` per table, with no expiry computation,
  no log and no certificate — what any deletion must at least cost;
- the rewrite of the warehouse file that physical erasure then does.

    .venv/bin/python benchmarks/retention.py [--sizes 10000 30000 100000] [--dir /dev/shm]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("CALLCANON_PSEUDONYM_KEY", "00" * 32)

from assets import retention, warehouse  # noqa: E402
from assets.keys import load_key  # noqa: E402
from assets.pii.pseudonymiser import Pseudonymiser  # noqa: E402
from assets.policy import load_policy  # noqa: E402
from assets.synthetic.warehouse_rows import SynthCall, add_calls  # noqa: E402

START = date(2020, 1, 1)
TABLES = ("themes.call_themes", "canon.transcripts", "canon.leak_scan", "casework.words", "casework.segments",
          "casework.transcripts", "casework.redacted_audio", "casework.call_pseudonyms", "casework.calls")


def build(root: Path, n: int) -> None:
    root.mkdir(parents=True)
    with warehouse.connect(root / "warehouse.duckdb") as conn:
        warehouse.ensure_schema(conn)
        for start in range(0, n, 20_000):
            add_calls(conn, root, [SynthCall(f"call-{i:07d}", START + timedelta(days=i % 365))
                                   for i in range(start, min(n, start + 20_000))])


def floor(root: Path) -> float:
    started = time.perf_counter()
    for path in (p for d in ("audio", "redacted_audio") for p in (root / d).rglob("*") if p.is_file()):
        path.unlink()
    with warehouse.connect(root / "warehouse.duckdb") as conn, warehouse.transaction(conn):
        for table in TABLES:
            conn.execute(f"DELETE FROM {table}")
    return time.perf_counter() - started


def sweep(root: Path, n: int) -> tuple[float, float]:
    policy, pseudonymiser = load_policy("ombudsman"), Pseudonymiser(load_key())
    as_of = START + timedelta(days=365 + 731)
    db = root / "warehouse.duckdb"
    started = time.perf_counter()
    with warehouse.connect(db) as conn:
        cert = retention.sweep(conn, policy, pseudonymiser, as_of)
    swept = time.perf_counter() - started
    assert cert.counts.get("call_record") == n, cert.counts
    assert not any(p.is_file() for p in (root / "audio").rglob("*"))
    started = time.perf_counter()
    retention.rewrite_warehouse(db)
    return swept, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--dir", default=None, help="where to build the stores (default: the system temp "
                        "folder); e.g. /dev/shm to take the disk out of the measurement")
    args = parser.parse_args()
    print(f"{'calls':>8} {'sweep s':>8} {'µs/call':>8} {'growth':>7} {'floor s':>8} {'sweep/floor':>11} "
          f"{'rewrite s':>9}")
    first = None
    for n in args.sizes:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            a, b = Path(tmp) / "sweep", Path(tmp) / "floor"
            build(a, n)
            shutil.copytree(a, b)
            # Expired files are old files: let the just-written ones reach the disk first, or the
            # deletions below pay for their writeback.
            os.sync()
            floor_s = floor(b)
            sweep_s, rewrite_s = sweep(a, n)
        per_call = sweep_s / n
        first = first or per_call
        print(f"{n:>8} {sweep_s:>8.1f} {per_call * 1e6:>8.0f} {per_call / first:>7.2f} {floor_s:>8.1f} "
              f"{sweep_s / floor_s:>11.2f} {rewrite_s:>9.1f}")
    print("\ngrowth: time per call relative to the smallest size (1.00 = linear); "
          "floor: bare unlink + DELETE of the same data, same run.")


if __name__ == "__main__":
    main()
