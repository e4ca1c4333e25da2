"""Stage outputs between the machines that compute them and the one process that writes the
warehouse.

DuckDB allows one writer process, and the warehouse file must sit on a local disk: a step that
needs it must run on the warehouse's machine. Transcription is where the time goes, so it must
not need it. Ingest (a warehouse step) writes each call date's **manifest** — the calls still to
transcribe, with their audio locations and cache keys — under the staging prefix; transcription
workers read the manifest and the sealed audio, and write one **staged file** per call and kind
(`transcripts`, `redacted_audio`, `problems`); the **loader**, a warehouse step, loads a date's
staged files into `casework` in one transaction and removes them.

Every file here is sealed under the audio key (`AudioVault`, AES-GCM), with the call id *and
the kind* in its associated data, so a file renamed to another call or kind fails its seal. A
file is written whole or not at all (`*.partial`, then renamed), so a worker killed mid-call
leaves nothing the loader would take. The staging prefix is a local folder or an fsspec URL
(`assets.locations`), like the audio store.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from pathlib import Path

from assets import locations
from assets.audio.decoding import AudioProblem
from assets.audio.vault import AudioVault, SealBroken, sealed_name

TRANSCRIPTS, REDACTED, PROBLEMS = "transcripts", "redacted_audio", "problems"
KINDS = (TRANSCRIPTS, REDACTED, PROBLEMS)
MANIFEST = "manifest"
SUFFIX = sealed_name(".json")  # "<call id>.json.sealed"
FORMAT = 1  # a staged file's layout: a loader refuses (quarantines) one it does not know

# Columns that JSON carries as text and the warehouse keeps typed.
_DATES, _TIMES = ("call_date",), ("transcribed_at",)


class StagedFileBroken(ValueError):
    """A staged file that fails its seal or does not parse: quarantined, never loaded."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def _typed(row: dict) -> dict:
    out = dict(row)
    for k in _DATES:
        if isinstance(out.get(k), str):
            out[k] = date.fromisoformat(out[k])
    for k in _TIMES:
        if isinstance(out.get(k), str):
            out[k] = datetime.fromisoformat(out[k])
    return out


def typed_rows(rows: list[dict]) -> list[dict]:
    """Rows as the warehouse types them (dates and times back from their ISO text)."""
    return [_typed(r) for r in rows]


class Staging:
    """One staging prefix and the key its files are sealed with."""

    def __init__(self, root, vault: AudioVault):
        self.root = locations.location(root)
        self.vault = vault

    def day(self, call_date) -> Path:
        return self.root / str(call_date)

    # --- writing (ingest: the manifest; workers: staged files) --------------------------------

    def _put(self, path: Path, aad: str, payload: dict) -> Path:
        data = json.dumps({**payload, "v": FORMAT}, default=str, separators=(",", ":")).encode()
        return self.vault.seal_bytes(data, path, aad)

    def _get(self, path: Path, aad: str) -> dict | None:
        """The payload; None for a file gone since it was listed (another loader took it)."""
        try:
            payload = json.loads(self.vault.open(path, aad).read())
        except SealBroken as broken:
            raise StagedFileBroken("seal_broken", str(broken)) from broken
        except AudioProblem:
            return None  # missing: the vault's only other refusal
        except (ValueError, UnicodeDecodeError) as bad:
            raise StagedFileBroken("unreadable", type(bad).__name__) from bad
        if not isinstance(payload, dict) or payload.get("v") != FORMAT:
            raise StagedFileBroken("unknown_format", "staged by a worker of another version")
        return payload

    def _fresh(self) -> None:
        """Object stores' listings are cached per process (s3fs): a long-lived worker or loader
        must list what is there now, not what was there on an earlier run."""
        if not locations.is_local(self.root):
            self.root.fs.invalidate_cache()

    def _manifest(self, call_date) -> Path:
        return self.day(call_date) / sealed_name(f"{MANIFEST}.json")

    def write_manifest(self, call_date, calls: list[dict]) -> Path:
        """The calls of a date still to transcribe (what `assets.transcription.pending_calls` reads,
        plus whether each may still be redacted): replaced whole by every ingest of the date."""
        return self._put(self._manifest(call_date), f"{MANIFEST}/{call_date}",
                         {"call_date": str(call_date), "calls": calls})

    def manifest(self, call_date) -> list[dict] | None:
        """The date's manifest, or None when ingest has written none (nothing to transcribe)."""
        if not self.has_manifest(call_date):
            return None
        payload = self._get(self._manifest(call_date), f"{MANIFEST}/{call_date}")
        return payload["calls"] if payload else None

    def has_manifest(self, call_date) -> bool:
        self._fresh()
        return self._manifest(call_date).exists()

    def forget(self, call_date, call_ids) -> None:
        """Take calls out of a date's manifest (erasure, expired audio): the manifest names them."""
        calls = self.manifest(call_date)
        if calls is not None:
            gone = set(call_ids)
            self.write_manifest(call_date, [c for c in calls if c["call_id"] not in gone])

    def path(self, call_date, kind: str, call_id: str) -> Path:
        return self.day(call_date) / kind / f"{call_id}{SUFFIX}"

    def put(self, call_date, kind: str, call_id: str, payload: dict) -> Path:
        """One call's result, written whole: a re-run replaces it, a killed worker leaves none."""
        return self._put(self.path(call_date, kind, call_id), f"{call_id}/{kind}", payload)

    # --- reading (the loader, and the redaction step reading staged transcripts) ---------------

    def staged(self, call_date, kind: str) -> list[tuple[str, Path]]:
        """(call id, path) of every complete staged file of a kind; `*.partial` never counts."""
        self._fresh()
        folder = self.day(call_date) / kind
        if not folder.exists():
            return []
        return sorted((p.name[:-len(SUFFIX)], p) for p in folder.iterdir() if p.name.endswith(SUFFIX))

    def get(self, path: Path, kind: str, call_id: str) -> dict | None:
        return self._get(path, f"{call_id}/{kind}")

    def leftovers(self, call_date, older_than_s: float = 0.0) -> list[Path]:
        """`*.partial` files a killed worker left (older than `older_than_s`: a worker still
        writing one keeps it): never read, removed by the loader."""
        self._fresh()
        cutoff = time.time() - older_than_s
        return [p for kind in KINDS if (self.day(call_date) / kind).exists()
                for p in (self.day(call_date) / kind).iterdir()
                if p.name.endswith(".partial") and (not older_than_s or locations.modified_at(p) < cutoff)]

    # --- removing (the loader after its commit; erasure) ----------------------------------------

    def remove(self, paths) -> None:
        for p in paths:
            locations.remove(str(p))

    def remove_call(self, call_date, call_id: str, redacted_root=None) -> int:
        """Whatever is staged for one call and, given the redacted-audio store, the redacted copy a
        worker wrote for it (erasure; a call erased before its results were loaded): bytes removed."""
        paths = [str(self.path(call_date, kind, call_id)) for kind in KINDS]
        if redacted_root is not None:
            paths.append(str(locations.location(redacted_root) / str(call_date) / sealed_name(f"{call_id}.wav")))
        return sum(locations.remove(p) for p in paths)

    @staticmethod
    def quarantine_place(path: Path, quarantine_root, call_id: str, call_date) -> Path:
        """Under the call's own quarantine folder, where an erasure of the call looks."""
        return locations.location(quarantine_root) / call_id / "staged" / str(call_date) / path.parent.name / path.name

    @staticmethod
    def move(path: Path, dest: Path) -> None:
        """Into quarantine (it stays sealed); staging and quarantine may be on different stores."""
        locations.ensure_dir(dest.parent)
        locations.copy(path, dest)
        locations.remove(str(path))
