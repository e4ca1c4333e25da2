"""`callcanon redact-text` honours the JSONL contract in DESIGN.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "callcanon"


def _run(lines: list[str], env=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), "redact-text"], input="\n".join(lines) + "\n", text=True,
                          capture_output=True, env=env or os.environ.copy(), timeout=300)


@pytest.mark.e2e  # a process that loads both detectors: the full tier (make check stays under 3 minutes)
def test_redact_text_jsonl_contract():
    inputs = [
        {"id": "a", "text": "Hello, my name is Sarah Jones and my NHS number is 943 476 5919."},
        {"id": 2, "text": "Call me on oh seven seven double oh, nine hundred, one two three. Sarah Jones again."},
        {"id": "c", "text": "The pain relief never came after the discharge letter."},
    ]
    proc = _run([json.dumps(i) for i in inputs])
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", 2, "c"]
    for i, o in zip(inputs, out):
        for e in o["entities"]:
            assert set(e) == {"type", "start", "end"}
            assert 0 <= e["start"] < e["end"] <= len(i["text"])
    assert "Sarah" not in out[0]["text"] and "5919" not in out[0]["text"]
    assert "seven seven" not in out[1]["text"]
    person_a = [inputs[0]["text"][e["start"]:e["end"]] for e in out[0]["entities"] if e["type"] == "PERSON"]
    assert person_a == ["Sarah Jones"]
    # The same person gets the same token in another record.
    token = [t for t in out[0]["text"].split() if t.startswith("<PERSON_")][0]
    assert token in out[1]["text"]
    # Non-identifying words survive untouched.
    assert out[2] == {"id": "c", "text": inputs[2]["text"], "entities": []}


@pytest.mark.slow
def test_redact_text_rejects_bad_lines_clearly():
    proc = _run(['{"id": 1, "text": "fine"}', "not json"])
    assert proc.returncode != 0
    assert "line 2" in proc.stderr


def test_redact_text_without_a_key_says_how_to_make_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CALLCANON_PSEUDONYM_KEY"}
    env["CALLCANON_KEY_FILE"] = str(tmp_path / "missing.key")
    proc = _run(['{"id": 1, "text": "x"}'], env=env)
    assert proc.returncode != 0
    assert "init-key" in proc.stderr
