"""Pseudonymisation benchmark: leaks per identifier type, over-redaction, and throughput, for
callcanon's pseudonymiser and for stock Presidio (same spaCy model) in the same run.

A leak is any probe of a planted identifier (a surname, the last six digits of a number however
said, a spelled letter run) surviving in the output. Over-redaction is a key phrase analysts need
("pain relief", "discharge letter", "A&E") no longer intact. Throughput is lines per second;
the ratio is callcanon's over stock Presidio's.

    .venv/bin/python benchmarks/pii_eval.py
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pii_corpus  # noqa: E402

from assets.pii.pseudonymiser import SPACY_MODEL, Pseudonymiser  # noqa: E402
from assets.pii.spoken import NUMBER_RUN, spoken_to_digits  # noqa: E402

AGE_BAND = re.compile(r"\b\d{1,3}-\d{1,3}\b|\b100\+")


def leaked(probe: str, output: str) -> bool:
    if probe.isdigit() and len(probe) <= 3:  # an age: "80-89" is its band, not a leak of 80
        output = AGE_BAND.sub(" ", output)
    if probe.isdigit():  # numbers leak in any spoken or written form
        digits = "".join(spoken_to_digits(m.group())[0] for m in NUMBER_RUN.finditer(output))
        return probe in digits
    return re.search(rf"(?<!\w){re.escape(probe)}(?!\w)", output, re.IGNORECASE) is not None


def stock_presidio():
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": SPACY_MODEL}]}).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
    anonymizer = AnonymizerEngine()

    def redact_many(texts):
        return [anonymizer.anonymize(t, analyzer.analyze(t, language="en")).text for t in texts]
    return redact_many


def score(outputs: list[str], lines, by=lambda line, p: f"{p.type} ({'spoken' if p.spoken else 'written'})"
          ) -> tuple[dict, float, float]:
    per_type = defaultdict(lambda: [0, 0])  # type -> [leaks, planted]
    kept = total = 0
    for out, line in zip(outputs, lines):
        for p in line.planted:
            key = by(line, p)
            per_type[key][1] += 1
            per_type[key][0] += any(leaked(probe, out) for probe in p.probes)
        for phrase in line.phrases:
            total += 1
            kept += phrase in out
    leaks = sum(v[0] for v in per_type.values())
    planted = sum(v[1] for v in per_type.values())
    return per_type, leaks / planted, kept / total


def timed(run):
    """(what `run()` returns, seconds it took)."""
    started = time.perf_counter()
    out = run()
    return out, time.perf_counter() - started


def print_table(ours, stock) -> None:
    """Leak per key, callcanon beside stock, from two `score` results."""
    for key in sorted(ours[0]):
        (l1, n), (l2, _) = ours[0][key], stock[0][key]
        print(f"{key:32} {l1 / n:14.1%} {l2 / n:10.1%}   (n={n})")


def main() -> None:
    if "--fresh-only" in sys.argv:  # the independent set alone, with the same baseline
        ours = Pseudonymiser(bytes(range(32)))
        ours.redact_many(["warm up"])
        stock = stock_presidio()
        stock(["warm up"])
        fresh_set(ours.redact_many, stock)
        return
    lines = pii_corpus.build()
    texts = [l.text for l in lines]
    print(f"{len(lines)} lines, {sum(len(l.planted) for l in lines)} planted identifiers, "
          f"{sum(len(l.phrases) for l in lines)} key phrases\n")
    ours = Pseudonymiser(bytes(range(32)))
    ours.redact_many(texts[:4])  # load models before timing
    stock = stock_presidio()
    stock(texts[:4])
    our_out, our_s = timed(lambda: [r.text for r in ours.redact_many(texts)])
    stock_out, stock_s = timed(lambda: stock(texts))
    ours_scored, stock_scored = score(our_out, lines), score(stock_out, lines)
    print(f"{'identifier':32} {'callcanon leak':>15} {'stock leak':>11}")
    print_table(ours_scored, stock_scored)
    print(f"{'overall':32} {ours_scored[1]:14.1%} {stock_scored[1]:10.1%}")
    print(f"\nkey phrases kept: callcanon {ours_scored[2]:.1%}, stock {stock_scored[2]:.1%}")
    for name, extra in (("held-out phrasings", pii_corpus.build_heldout()),
                        ("later phrasings", pii_corpus.build_unseen())):
        ours_x = score([r.text for r in ours.redact_many([l.text for l in extra])], extra)
        stock_x = score(stock([l.text for l in extra]), extra)
        print(f"\n{name} ({len(extra)} lines written after the recognisers; see pii_corpus for their history):")
        print_table(ours_x, stock_x)
        print(f"{'overall':32} {ours_x[1]:14.1%} {stock_x[1]:10.1%}   key phrases kept {ours_x[2]:.1%}")
    print(f"throughput: callcanon {len(texts) / our_s:.0f} lines/s, stock {len(texts) / stock_s:.0f} lines/s, "
          f"ratio {stock_s / our_s:.2f}")
    fresh_set(ours.redact_many, stock)


CALL_DATE = date(2026, 12, 3)  # the date the fresh set's dates of birth are aged at


def fresh_set(ours_redact_many, stock) -> None:
    """The independent set: leak per kind and per style, key phrases, and throughput on it."""
    fresh = pii_corpus.build_fresh()
    texts = [line.text for line in fresh]
    try:
        ours, our_s = timed(lambda: [r.text for r in ours_redact_many(texts, on=[CALL_DATE] * len(texts))])
    except TypeError:  # a pseudonymiser from before dates of birth were aged (the first score)
        ours, our_s = timed(lambda: [r.text for r in ours_redact_many(texts)])
    theirs, stock_s = timed(lambda: stock(texts))
    print(f"\nfresh held-out set ({len(fresh)} lines, {sum(len(l.planted) for l in fresh)} identifiers, "
          f"{sum(len(l.phrases) for l in fresh)} key phrases; benchmarks/data/pii_fresh.jsonl):")
    for label, by in (("kind", lambda line, p: p.type), ("style", lambda line, p: line.style)):
        mine, stock_scored = score(ours, fresh, by), score(theirs, fresh, by)
        print(f"{'by ' + label:32} {'callcanon leak':>15} {'stock leak':>11}")
        print_table(mine, stock_scored)
    print(f"{'overall':32} {mine[1]:14.1%} {stock_scored[1]:10.1%}")
    print(f"key phrases kept: callcanon {mine[2]:.1%}, stock {stock_scored[2]:.1%}")
    print(f"throughput on it: callcanon {len(texts) / our_s:.0f} lines/s, stock {len(texts) / stock_s:.0f} lines/s, "
          f"ratio {stock_s / our_s:.2f}")
    if os.environ.get("PII_EVAL_SHOW_LEAKS"):  # for the developer; never in CI logs
        for out, line in zip(ours, fresh):
            for p in line.planted:
                if any(leaked(probe, out) for probe in p.probes):
                    print("LEAK", p.type, "|", out)
            for phrase in line.phrases:
                if phrase not in out:
                    print("LOST", phrase, "|", out)


if __name__ == "__main__":
    main()
