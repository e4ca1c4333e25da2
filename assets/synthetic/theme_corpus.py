"""A generated canon with known themes: ground truth for the theme model's tests and evaluation.

Each call reads like a pseudonymised complaint-line transcript: the staff script, pseudonym
tokens where the identifiers were, and two or three caller sentences about one theme, written
from varied templates so that no two calls are the same text. `spike_series` is the ombudsman's
acceptance scenario: an ordinary stream of calls and one day on which 20 calls from four service
areas all mention pain relief.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

SERVICE_AREAS = ["maternity", "emergency", "oncology", "gp_prescriptions"]
TEAMS = ["intake", "clinical_review", "early_resolution"]
WHO = ["my mother", "my father", "my husband", "my wife", "my son", "my daughter", "I", "my grandmother",
       "my partner", "my brother"]
WHERE = ["on the ward", "in A and E", "on the maternity unit", "in the oncology day unit", "at the surgery",
         "after the operation", "overnight", "at the hospital", "in the recovery area", "on the labour ward"]
HOURS = ["two hours", "four hours", "six hours", "all night", "most of the day", "three days", "hours"]

# theme -> sentence templates ({who}, {where}, {hours} are filled at random)
THEMES: dict[str, list[str]] = {
    "pain_relief": [
        "{who} was in terrible pain {where} and nobody brought any pain relief.",
        "We asked for pain relief for {hours} and it never came.",
        "The pain relief was delayed {where} and the pain just got worse.",
        "Nobody managed the pain properly, {who} was left in agony without painkillers.",
        "The nurse said the pain medication was coming but {who} waited {hours} in pain.",
        "Pain management {where} was non-existent, we begged for something for the pain.",
        "{who} was refused pain relief {where} even though the pain was unbearable.",
        "The painkillers were not given on time and {who} suffered in pain {hours}.",
    ],
    "waiting_times": [
        "We were waiting {where} for {hours} before anyone saw us.",
        "The waiting list for an appointment is over a year and nobody will say how long the wait is.",
        "{who} has been waiting months for a referral and the waiting time keeps getting longer.",
        "We were kept waiting on a trolley in the corridor, the wait was far too long.",
        "The delay before being seen was {hours}, the waiting room was full.",
        "The appointment was cancelled again so the waiting goes on and on.",
        "{who} sat in the waiting area {hours} and was never called.",
        "The wait for a scan is months, we are still on the waiting list.",
    ],
    "staff_attitude": [
        "The receptionist was rude and shouted at {who} in front of everyone.",
        "The doctor was dismissive and would not listen to a word we said.",
        "The staff {where} were unhelpful and one of them laughed at our questions.",
        "The attitude of the staff was rude and disrespectful from start to finish.",
        "Nobody treated {who} with any dignity or respect, they were so rude.",
        "A member of staff was sarcastic and made {who} feel stupid for asking.",
        "The consultant was arrogant and spoke to us in a condescending way.",
        "The staff attitude {where} was cold, uncaring and unprofessional.",
    ],
    "medication": [
        "The pharmacy gave {who} the wrong medication and the wrong dose.",
        "The repeat prescription was cancelled and {who} was left without tablets for a week.",
        "They changed the medication without telling us and there was a bad reaction to the new tablets.",
        "The surgery keeps losing the prescription so the medication is always late.",
        "{who} was given tablets that clash with the other medicines, nobody checked.",
        "The prescription was sent to the wrong chemist so there was no medication.",
        "The dose on the prescription label was wrong and {who} took too much.",
        "The inhaler prescription was refused without explanation by the pharmacist.",
    ],
    "discharge": [
        "{who} was discharged at midnight with no discharge letter and no care plan.",
        "They sent {who} home too early, the discharge was rushed and there was a readmission two days later.",
        "Nobody explained the discharge plan and the discharge letter never reached the GP.",
        "The discharge from the ward was chaotic and the transport home never arrived.",
        "{who} was discharged without the equipment or the care package at home.",
        "The hospital discharged {who} before the test results came back.",
        "No follow up was arranged after the discharge and nobody called.",
        "The discharge summary was wrong and the district nurse was never told.",
    ],
    # Not one of the five: appears only when a corpus asks for it (a new kind of complaint).
    "parking": [
        "The car park charges are outrageous, we paid a fortune to park {hours}.",
        "There was nowhere to park and {who} missed the appointment driving round the car park.",
        "We got a parking fine at the hospital car park while {who} was being treated.",
        "The parking machines were broken and the car park fined us anyway.",
        "Disabled parking bays were all taken and the car park was full.",
        "The parking ticket cost more than the taxi, the car park fees are too high.",
        "Security clamped the car in the hospital car park while we were inside.",
        "The car park barrier would not lift and the parking staff were nowhere.",
    ],
}
FIVE = ["pain_relief", "waiting_times", "staff_attitude", "medication", "discharge"]
OPENING = ("Good morning, you are through to the complaints line. This call is recorded. "
           "Can I take your name please? Hello, my name is <PERSON_{p}>. "
           "Thank you. Can I have your NHS number? Yes, it is <NHS_NUMBER_{n}>. "
           "What would you like to tell us about?")
CLOSING = "I am sorry to hear that. I will pass this to a caseworker today. Goodbye."


@dataclass(frozen=True)
class CorpusCall:
    call_id: str
    call_date: date
    theme: str
    service_area: str
    team: str
    text: str


def _caller_text(rng: random.Random, theme: str) -> str:
    lines = rng.sample(THEMES[theme], rng.choice((2, 3)))
    fill = {"who": rng.choice(WHO), "where": rng.choice(WHERE), "hours": rng.choice(HOURS)}
    return " ".join(s.format(**fill) for s in lines)


def call(rng: random.Random, call_id: str, day: date, theme: str, service_area: str | None = None) -> CorpusCall:
    person, nhs = f"{rng.getrandbits(32):08x}", f"{rng.getrandbits(32):08x}"
    text = f"{OPENING.format(p=person, n=nhs)} {_caller_text(rng, theme)} {CLOSING}"
    text = text[0].upper() + text[1:]
    return CorpusCall(call_id, day, theme, service_area or rng.choice(SERVICE_AREAS), rng.choice(TEAMS), text)


def corpus(n: int, themes: list[str] = FIVE, start: date = date(2026, 1, 5), days: int = 28,
           seed: int = 1) -> list[CorpusCall]:
    """n calls, themes in equal shares, spread over `days` days."""
    rng = random.Random(seed)
    return [call(rng, f"tc-{seed}-{i:05d}", start + timedelta(days=i % days), themes[i % len(themes)])
            for i in range(n)]


def spike_series(days: int = 56, per_day: int = 12, spike_day: int = 42, spike_calls: int = 20,
                 start: date = date(2026, 1, 5), seed: int = 3) -> tuple[list[CorpusCall], date]:
    """A steady stream (themes at random, `per_day` calls a day) with, on one day, `spike_calls`
    extra calls about pain relief from every service area. Returns the calls and the spike date."""
    rng = random.Random(seed)
    calls, spike = [], start + timedelta(days=spike_day)
    for d in range(days):
        day = start + timedelta(days=d)
        for i in range(per_day):
            calls.append(call(rng, f"sp-{d:03d}-{i:03d}", day, rng.choice(FIVE)))
        if day == spike:
            for i in range(spike_calls):
                calls.append(call(rng, f"sp-{d:03d}-s{i:03d}", day, "pain_relief",
                                  SERVICE_AREAS[i % len(SERVICE_AREAS)]))
    return calls, spike


def write_canon(conn, calls: list[CorpusCall]) -> None:
    """The calls as canon rows (and clean residual-PII scans), as the canon stage writes them."""
    from assets import warehouse
    from assets.warehouse import marts_queue
    now = warehouse.utcnow()
    with warehouse.transaction(conn):
        warehouse.insert_rows(conn, "canon.transcripts", [
            dict(call_id=c.call_id, call_date=c.call_date, direction="inbound", team=c.team,
                 service_area=c.service_area, text=c.text, entities_replaced=2, pseudonymised_at=now)
            for c in calls])
        marts_queue.mark_days(conn, [c.call_date for c in calls])
        warehouse.insert_rows(conn, "canon.leak_scan", [
            dict(call_id=c.call_id, call_date=c.call_date, findings=0, kinds="{}", scanned_at=now) for c in calls])
