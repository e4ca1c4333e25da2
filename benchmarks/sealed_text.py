"""What sealing casework text at rest costs the transcription and canon stages (issue 22 target:
at most 5 %), measured in one run against the same stages with the text left plain.

- Transcription: demo calls spoken by espeak-ng, 8 kHz μ-law stereo, ingested and sealed as the
  pipeline does, transcribed by the real stage (`transcribe_calls`, which seals every transcript,
  segment and word it produces). The sealing is timed again on exactly the cells the stage wrote
  (opened, then sealed anew): ratio = stage time / (stage time - sealing time).
- Canon: the same transcripts in two warehouses, one sealed (as written) and one plain (opened
  back: the form text had before 0.12, which the stage still reads); `pseudonymise_date` on
  each, alternating, best of `--repeats`: ratio = sealed / plain.

    .venv/bin/python benchmarks/sealed_text.py [--calls 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assets import ingest, reseal, warehouse  # noqa: E402
from assets.audio.vault import AudioVault  # noqa: E402
from assets.canon import pseudonymise_date  # noqa: E402
from assets.pii.pseudonymiser import Pseudonymiser  # noqa: E402
from assets.transcription.stage import pending_calls, transcribe_calls, write_transcribed  # noqa: E402
from benchmarks.transcription import DAY, make_corpus  # noqa: E402


def cells(conn, vault: AudioVault) -> list[tuple[str, str, str]]:
    """(call id, place, plain text) of every text cell the stage wrote."""
    out = []
    for table, column, key_columns, place in reseal.TEXT_CELLS:
        for row in conn.execute(f"SELECT {', '.join(key_columns)}, {column} FROM {table}").fetchall():
            out.append((row[0], place(row), vault.text.open(row[-1], row[0], place(row))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="callcanon-sealed-text-"))
    landing, _ = make_corpus(root, args.calls, ["8k-ulaw-stereo"])["8k-ulaw-stereo"]
    vault = AudioVault(os.urandom(32))
    sealed_db, plain_db = root / "sealed.duckdb", root / "plain.duckdb"
    with duckdb.connect(str(sealed_db)) as conn:
        warehouse.ensure_schema(conn)
        ingest.ingest_date(conn, landing, root / "store", root / "q", DAY, vault, sidecar_grace_s=0)
        calls = pending_calls(conn, DAY)
        started = time.perf_counter()
        out = transcribe_calls(DAY, calls, vault)
        stage_s = time.perf_counter() - started
        write_transcribed(conn, out)
        written = cells(conn, vault)
    started = time.perf_counter()
    for call_id, place, text in written:
        vault.text.seal(text, call_id, place)
    seal_s = time.perf_counter() - started
    print(f"transcription: {len(calls)} calls, {out.result.audio_seconds:.0f} s of audio, {len(written)} text cells")
    print(f"  stage {stage_s:.2f} s, of which sealing {seal_s * 1000:.1f} ms "
          f"({seal_s / len(written) * 1e6:.1f} µs a cell): ratio sealed/unsealed {stage_s / (stage_s - seal_s):.4f}")

    # The canon stage on the same text, sealed and plain.
    with duckdb.connect(str(plain_db)) as dst:
        warehouse.ensure_schema(dst)
        dst.execute(f"ATTACH '{sealed_db}' AS src (READ_ONLY)")
        for table in ("casework.calls", "casework.transcripts", "casework.segments", "casework.words"):
            dst.execute(f"INSERT INTO {table} SELECT * FROM src.{table}")
        dst.execute("DETACH src")
        for table, column, key_columns, place in reseal.TEXT_CELLS:
            rows = dst.execute(f"SELECT {', '.join(key_columns)}, {column} FROM {table}").fetchall()
            for row in rows:
                where = " AND ".join(f"{c} = ?" for c in key_columns)
                dst.execute(f"UPDATE {table} SET {column} = ? WHERE {where}",
                            [vault.text.open(row[-1], row[0], place(row)), *row[:-1]])
    pseudonymiser = Pseudonymiser(os.urandom(32))
    pseudonymiser.redact("warming up the recognisers, Sarah Jones, 07700 900123")
    best = {"sealed": float("inf"), "plain": float("inf")}
    for _ in range(args.repeats):
        for name, db in (("plain", plain_db), ("sealed", sealed_db)):
            with duckdb.connect(str(db)) as conn:
                started = time.perf_counter()
                pseudonymise_date(conn, DAY, pseudonymiser, vault.text)
                best[name] = min(best[name], time.perf_counter() - started)
    print(f"canon: plain {best['plain']:.3f} s, sealed {best['sealed']:.3f} s (best of {args.repeats}): "
          f"ratio sealed/plain {best['sealed'] / best['plain']:.4f}")
    # Sealing must change nothing the canon stage produces: the same pseudonymised rows either way.
    canon_rows = "SELECT call_id, text, caller_text, statements FROM canon.transcripts ORDER BY call_id"
    with duckdb.connect(str(sealed_db)) as a, duckdb.connect(str(plain_db)) as b:
        same = a.execute(canon_rows).fetchall() == b.execute(canon_rows).fetchall()
    print(f"canon rows identical from sealed and plain text: {same}")


if __name__ == "__main__":
    main()
