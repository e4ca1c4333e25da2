"""Synthetic complaint calls, spoken by espeak-ng, for the demo, the tests and the benchmarks.

Every identifier here is invented: NHS numbers pass the checksum but are generated, phone
numbers sit in Ofcom's drama range (07700 900xxx), names are common English names. The scripts
carry identifiers on purpose, so the pseudonymiser has real work to do.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import tempfile
import wave
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from assets import locations
from assets.pii.spoken import nhs_check_digit

SAMPLE_RATE = 22050  # espeak-ng's native rate

# theme -> (keyword a transcript must contain, caller lines). Each line is spoken in full.
THEMES: dict[str, tuple[str, list[str]]] = {
    "pain_relief": ("pain", [
        "I was in terrible pain for hours and nobody brought me any pain relief.",
        "The nurse said the pain relief was on its way but it never came, and the pain got worse.",
        "I asked again and again for something for the pain, but the pain relief was delayed all night.",
        "My mother was left in pain after the operation because her pain relief was not given on time.",
    ]),
    "waiting_times": ("waiting", [
        "We were waiting in the waiting room for nine hours before anyone saw us.",
        "The waiting list for the appointment is over a year and nobody will tell me how long I am waiting.",
        "I have been waiting for months for a referral and the waiting time keeps getting longer.",
        "We were kept waiting on a trolley in the corridor, the wait was far too long.",
    ]),
    "staff_attitude": ("attitude", [
        "The receptionist had a terrible attitude and shouted at me in front of everyone.",
        "The attitude of the doctor was dismissive and he would not listen to a word I said.",
        "The staff attitude was unhelpful, and one of them laughed at my questions.",
        "I found the attitude of the staff rude and disrespectful from start to finish.",
    ]),
    "medication": ("medication", [
        "The pharmacy gave me the wrong medication and the wrong dose on my prescription.",
        "My repeat prescription was cancelled and I was left without my medication for a week.",
        "They changed my medication without telling me and I had a bad reaction to the new tablets.",
        "The surgery keeps losing my prescription so my medication is always late.",
    ]),
    "discharge": ("discharge", [
        "My father was discharged from hospital at midnight with no discharge letter and no care plan.",
        "They sent me home too early, the discharge was rushed and I was readmitted two days later.",
        "Nobody explained the discharge plan and the discharge letter never reached my doctor.",
        "The discharge from the ward was chaotic and the transport home never arrived.",
    ]),
}
SERVICE_AREAS = ["maternity", "emergency", "oncology", "gp_prescriptions"]
NAMES = [("Sarah", "Jones"), ("David", "Smith"), ("Emma", "Wilson"), ("James", "Taylor"),
         ("Mary", "Brown"), ("Peter", "Walker"), ("Helen", "Clarke"), ("John", "Davies"),
         ("Susan", "Hughes"), ("Michael", "Green"), ("Karen", "Wood"), ("Paul", "Harris")]
POSTCODES = ["LS6 2AB", "M14 5RT", "B15 2TH", "SW1A 1AA", "NE4 7PQ", "CF10 3AT"]
# espeak-ng arguments per speaker. The caller speaks slower with a small word gap: measured with
# tiny.en, that is what turns "this charge" back into "discharge" and keeps digits apart.
VOICES = {"staff": ["-v", "en-gb", "-s", "160"], "caller": ["-v", "en-us+f3", "-s", "140", "-g", "1"]}


@dataclass(frozen=True)
class DemoCall:
    call_id: str
    call_date: str
    theme: str
    keyword: str
    first_name: str
    last_name: str
    nhs_number: str
    phone: str
    postcode: str
    complaint_id: str | None
    service_area: str
    turns: list[tuple[str, str]]  # (speaker, text)
    audio_format: str = "wav"
    sample_rate: int = SAMPLE_RATE
    stereo: bool = False

    @property
    def script(self) -> str:
        return " ".join(text for _, text in self.turns)


def nhs_number(rng: random.Random) -> str:
    """A 10-digit number that passes the NHS modulus-11 check."""
    while True:
        first_nine = "".join(str(rng.randint(0, 9)) for _ in range(9))
        if (check := nhs_check_digit(first_nine)) is not None:
            return first_nine + str(check)


def spoken_digits(number: str, groups: tuple[int, ...]) -> str:
    """'9434765919' -> '9 4 3, 4 7 6, 5 9 1 9': digit by digit, grouped as people read them."""
    out, pos = [], 0
    for g in groups:
        out.append(" ".join(number[pos:pos + g]))
        pos += g
    return ", ".join(out)


def build_calls(n_calls: int, today: date, seed: int = 7, days: int = 5,
                expired: bool = True) -> list[DemoCall]:
    """n_calls recent calls over `days` days, themes in rotation; plus, if `expired`, two calls
    45 days old (one linked to a complaint, one not) for the retention stage to judge."""
    rng = random.Random(seed)
    theme_names = list(THEMES)
    # Days and themes rotate at different rates, so no theme is tied to one day.
    plan = [(today - timedelta(days=1 + (i + i // len(theme_names)) % days),
             theme_names[i % len(theme_names)], i % 3 != 0) for i in range(n_calls)]
    if expired:
        plan += [(today - timedelta(days=45), theme_names[0], False),
                 (today - timedelta(days=45), theme_names[1], True)]
    calls, per_day = [], {}
    for i, (day, theme, linked) in enumerate(plan):
        per_day[day] = per_day.get(day, 0) + 1
        first, last = NAMES[i % len(NAMES)]
        keyword, lines = THEMES[theme]
        nhs = nhs_number(rng)
        phone = f"07700900{rng.randint(100, 999)}"
        postcode = rng.choice(POSTCODES)
        complaint = f"C-{rng.randint(100000, 999999)}" if linked else None
        spoken_lines = rng.sample(lines, 2)
        turns = [
            ("staff", "Good morning, you are through to the complaints line. This call is recorded. "
                      "Can I take your name please?"),
            ("caller", f"Hello, my name is {first} {last}."),
            ("staff", "Thank you. Can I have your NHS number?"),
            ("caller", f"Yes, my NHS number is {spoken_digits(nhs, (3, 3, 4))}."),
            ("staff", "And a phone number we can call you back on?"),
            ("caller", f"You can call me on {spoken_digits(phone, (5, 3, 3))}. "
                       f"My postcode is {postcode}."),
            ("staff", "What would you like to tell us about?"),
            ("caller", " ".join(spoken_lines)),
            ("staff", "I am sorry to hear that. I will pass this to a caseworker today. Goodbye."),
        ]
        calls.append(DemoCall(
            call_id=f"call-{day:%Y%m%d}-{per_day[day]:04d}", call_date=day.isoformat(), theme=theme,
            keyword=keyword, first_name=first, last_name=last, nhs_number=nhs, phone=phone,
            postcode=postcode, complaint_id=complaint,
            service_area=SERVICE_AREAS[i % len(SERVICE_AREAS)], turns=turns,
            # Every third call as a telephony recorder writes it: 8 kHz μ-law, one party a channel.
            **({"audio_format": "wav-ulaw", "sample_rate": 8000, "stereo": True} if i % 3 == 2 else {}),
        ))
    return calls


def require_espeak() -> str:
    exe = shutil.which("espeak-ng")
    if not exe:
        raise RuntimeError("espeak-ng is not installed: `apt-get install espeak-ng` (or `make system-deps`)")
    return exe


# name -> (file extension, container format, codec). What telephony systems hand over.
AUDIO_FORMATS = {
    "wav": (".wav", "wav", "pcm_s16le"),
    "wav-ulaw": (".wav", "wav", "pcm_mulaw"),
    "wav-alaw": (".wav", "wav", "pcm_alaw"),
    "mp3": (".mp3", "mp3", "libmp3lame"),
    "opus": (".ogg", "ogg", "libopus"),
    "flac": (".flac", "flac", "flac"),
    "m4a": (".m4a", "ipod", "aac"),
}


def render_tracks(turns: list[tuple[str, str]], pause_s: float = 0.4) -> np.ndarray:
    """Speak each turn and lay it on its speaker's track: shape (2, n) int16, staff then caller,
    each silent while the other talks, as a two-channel call recorder produces."""
    exe = require_espeak()
    gap = np.zeros(int(SAMPLE_RATE * pause_s), dtype=np.int16)
    tracks: dict[str, list[np.ndarray]] = {"staff": [], "caller": []}
    with tempfile.TemporaryDirectory() as tmp:
        for n, (speaker, text) in enumerate(turns):
            part = Path(tmp) / f"{n}.wav"
            subprocess.run([exe, *VOICES[speaker], "-w", str(part), text], check=True, capture_output=True)
            with wave.open(str(part)) as w:
                assert w.getframerate() == SAMPLE_RATE and w.getnchannels() == 1
                said = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
            for who, track in tracks.items():
                track.append(said if who == speaker else np.zeros_like(said))
                track.append(gap)
    return np.stack([np.concatenate(tracks["staff"]), np.concatenate(tracks["caller"])])


def write_audio(tracks: np.ndarray, path: Path, fmt: str = "wav", sample_rate: int = SAMPLE_RATE,
                stereo: bool = False) -> Path:
    """Encode (2, n) int16 tracks with PyAV: stereo keeps one speaker per channel, mono mixes.
    Returns the written path (its extension follows the format)."""
    import av

    ext, container_format, codec = AUDIO_FORMATS[fmt]
    path = path.with_suffix(ext)
    data = tracks if stereo else np.clip(tracks.astype(np.int32).sum(axis=0), -32768, 32767)[None, :].astype(np.int16)
    layout = "stereo" if stereo else "mono"
    if codec == "libopus" and sample_rate not in (8000, 12000, 16000, 24000, 48000):
        sample_rate = 48000
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=sample_rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format="s16p", layout=layout)
        frame.sample_rate = SAMPLE_RATE
        resampler = av.AudioResampler(format=stream.codec_context.format, layout=layout, rate=sample_rate,
                                      frame_size=stream.codec_context.frame_size or None)
        for chunk in (*resampler.resample(frame), *resampler.resample(None)):
            container.mux(stream.encode(chunk))
        container.mux(stream.encode(None))
    return path


def sidecar_for(call: DemoCall, n: int) -> dict:
    day = date.fromisoformat(call.call_date)
    started = datetime.combine(day, time(9, 0), tzinfo=UTC) + timedelta(minutes=17 * n)
    return {
        "call_id": call.call_id,
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "direction": "inbound",
        "staff_id": f"staff-{n % 4 + 1:02d}",
        "team": "intake",
        "external_number": "+44" + call.phone[1:],
        "complaint_id": call.complaint_id,
        "case_last_activity": (date.today() - timedelta(days=3)).isoformat() if call.complaint_id else None,
        "service_area": call.service_area,
        "privacy_notice_played": True,
        "recording_stopped_on_request": False,
        **({"channels": {"0": "staff", "1": "caller"}} if call.stereo else {}),
    }


def write_calls(calls: list[DemoCall], landing_dir, on_written=None) -> list[Path]:
    """Speak each call into `landing_dir` (a folder or an fsspec URL) with its sidecar beside it."""
    landing_dir = locations.location(landing_dir)
    locations.ensure_dir(landing_dir)
    written = []
    with tempfile.TemporaryDirectory(prefix="callcanon-speak-") as tmp:
        # PyAV encodes into a local file; object storage is sent the finished recording.
        work = landing_dir if locations.is_local(landing_dir) else Path(tmp)
        for n, call in enumerate(calls):
            wav = write_audio(render_tracks(call.turns), work / call.call_id, call.audio_format,
                              call.sample_rate, call.stereo)
            if work is not landing_dir:
                locations.copy(wav, landing_dir / wav.name)
                wav.unlink()
                wav = landing_dir / wav.name
            # The sidecar lands last: a watcher that sees it can rely on the audio being complete.
            (landing_dir / f"{call.call_id}.json").write_text(json.dumps(sidecar_for(call, n), indent=1))
            written.append(wav)
            if on_written:
                on_written(call)
    return written


def write_truth(calls: list[DemoCall], path: Path) -> None:
    """The scripts and planted identifiers, as JSON lines, for tests and benchmarks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(asdict(c)) + "\n" for c in calls))
