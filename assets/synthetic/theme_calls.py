"""Complaint calls for measuring themes on telephone audio: spoken by espeak-ng, 8 kHz μ-law,
one party a channel, every caller naming the department as real callers do.

The caller statements come from a held-out file written without sight of the taxonomy or the
theme code (`benchmarks/data/theme_calls.json`: openings naming a department, staff lines, and
statements of six kinds of complaint; `theme_calls_fresh.json`, `theme_calls_third.json` and
`theme_calls_fourth.json`, each by another writer). `scenario` lays out the incremental test:
weeks of a few calls a day of the ordinary kinds, some mentioning two, then days on which 20
calls from four service areas are about one kind (a kind the taxonomy does not name, and pain
relief, which it does).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from assets.synthetic.demo_calls import NAMES, DemoCall

ORDINARY = ("waiting", "attitude", "medication", "discharge")
SPIKE_AREAS = ("maternity", "emergency", "oncology", "gp")


@dataclass(frozen=True)
class Truth:
    call_id: str
    call_date: date
    kinds: tuple[str, ...]   # first: what most of the call is about
    department: str


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def spike_kinds(data: dict) -> tuple[str, ...]:
    """The file's kinds that are not ordinary, pain relief (the policy's example) last."""
    return tuple(sorted((k for k in data["kinds"] if k not in ORDINARY), key=lambda k: k == "pain_relief"))


def call(data: dict, rng: random.Random, call_id: str, day: date, kinds: tuple[str, ...], department: str,
         n: int) -> tuple[DemoCall, Truth]:
    staff = data["staff_lines"]
    opening = rng.choice(data["openings"]).format(dept=rng.choice(data["departments"][department]))
    first, last = NAMES[n % len(NAMES)]
    if n % 2:  # half the callers give their name first: a pseudonym token, never a theme
        opening = f"Hello, my name is {first} {last}. {opening}"
    said = rng.sample(data["kinds"][kinds[0]], 2) + [s for k in kinds[1:] for s in rng.sample(data["kinds"][k], 1)]
    turns = [("staff", rng.choice(staff["greeting"])), ("caller", opening),
             ("staff", rng.choice(staff["questions"])), ("caller", " ".join(said)),
             ("staff", rng.choice(staff["closing"]))]
    demo = DemoCall(call_id=call_id, call_date=day.isoformat(), theme=kinds[0], keyword="", first_name=first,
                    last_name=last, nhs_number="", phone=f"07700900{100 + n % 900}", postcode="",
                    complaint_id=None, service_area=department, turns=turns, audio_format="wav-ulaw",
                    sample_rate=8000, stereo=True)
    return demo, Truth(call_id, day, kinds, department)


def scenario(data: dict, end: date, days: int = 28, per_day: int = 3, two_kinds: float = 0.25,
             spikes: tuple[str, ...] | None = None, spike_calls: int = 20,
             seed: int = 19) -> tuple[list[DemoCall], list[Truth], dict[date, str]]:
    """`days` days of `per_day` ordinary calls (a share `two_kinds` mentioning a second kind),
    then one day per kind in `spikes` (default: `spike_kinds`) with `spike_calls` calls about it from four service areas
    plus the day's ordinary calls; the last day is `end`. Returns the calls, their truth and the
    spike days."""
    spikes = spike_kinds(data) if spikes is None else spikes
    rng = random.Random(seed)
    departments = list(data["departments"])
    first = end - timedelta(days=days + len(spikes) - 1)
    calls, truth, spike_days = [], [], {}
    for d in range(days + len(spikes)):
        day = first + timedelta(days=d)
        plan = []
        for _ in range(per_day):
            kinds = tuple(rng.sample(ORDINARY, 2 if rng.random() < two_kinds else 1))
            plan.append((kinds, rng.choice(departments)))
        if d >= days:
            kind = spikes[d - days]
            spike_days[day] = kind
            plan += [((kind,), SPIKE_AREAS[i % len(SPIKE_AREAS)]) for i in range(spike_calls)]
        for i, (kinds, department) in enumerate(plan):
            c, t = call(data, rng, f"tc-{day:%Y%m%d}-{i:03d}", day, kinds, department, len(calls))
            calls.append(c)
            truth.append(t)
    return calls, truth, spike_days


SEED_OPENINGS = {
    "maternity": "I'm calling about the maternity unit.",
    "emergency": "I want to complain about A and E.",
    "oncology": "It's about the oncology ward.",
    "gp_prescriptions": "It's about my GP surgery.",
}


def seed_example(day: date, n: int = 20, start: int = 0) -> list[DemoCall]:
    """The policy's own example (§4.4), short: `n` calls on one day from maternity, A&E,
    oncology and GP prescriptions, each caller naming the department, all about pain relief."""
    from assets.synthetic.demo_calls import THEMES

    lines = THEMES["pain_relief"][1]
    areas = list(SEED_OPENINGS)
    calls = []
    for i in range(n):
        area = areas[i % len(areas)]
        first, last = NAMES[(start + i) % len(NAMES)]
        turns = [("staff", "Complaints line, how can I help?"),
                 ("caller", f"{SEED_OPENINGS[area]} {lines[i % len(lines)]}"),
                 ("staff", "Thank you, I will pass this on. Goodbye.")]
        calls.append(DemoCall(call_id=f"seed-{day:%Y%m%d}-{i:03d}", call_date=day.isoformat(), theme="pain_relief",
                              keyword="pain", first_name=first, last_name=last, nhs_number="", phone="07700900000",
                              postcode="", complaint_id=None, service_area=area, turns=turns,
                              audio_format="wav-ulaw", sample_rate=8000, stereo=True))
    return calls
