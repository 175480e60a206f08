"""Synthesize the episodes `benchmarks/names.py` measures naming on: 3 and 4 people, with feeds.

    python benchmarks/make_names_episodes.py [--only names_four]

Each episode opens the way podcasts do (the host introduces the show, a co-host, the guests;
people introduce themselves, are welcomed by name, or are never named in the talk at all) and
goes on with consecutive turns of the SDS episode 733 transcript, its host's and guest's turns
spread over the episode's people. Audio, timing, noise, overlaps and the truth file come from
`make_conversation.py` (same engines: flite voices, Piper "joe"; deterministic). Names that
text-to-speech cannot say as people do are spoken phonetically ("Swicks" for "Swyx"); the
truth's text keeps the spelling the feed uses, as a real transcript would.

Next to `<name>.mp3` and `<name>.truth.json`, `<name>.feed.json` holds what a feed would say:
channel and item `podcast:person` tags (with roles), show title and author, episode title and
show notes. Outputs are committed; nobody needs TTS to run the benchmark.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_conversation as mc  # noqa: E402

DATA = mc.ROOT / "benchmarks" / "data"
# what text-to-speech must read for a name to sound as its people say it
SPOKEN = {"Swyx": "Swicks", "Gurobi": "Guroby", "DeepJudge": "Deep Judge"}

EPISODES: dict[str, dict] = {
    # tuning episode: host, co-host and guest, all three named in the talk
    "names_three": {
        "seed": 11,
        "minutes": 3.0,
        "start": "00:02:17",
        "voices": {
            "Jon Krohn": mc.Voice("piper", "joe", 0.0),
            "Sadie Lee": mc.Voice("flite", "slt", 1.0),
            "Yannic Kilcher": mc.Voice("flite", "rms", -1.5),
        },
        "map": {"Jon Krohn": ["Jon Krohn", "Sadie Lee"], "Yannic Kilcher": ["Yannic Kilcher"]},
        "opening": [
            (
                "Jon Krohn",
                "This is episode number 733 with Dr. Yannic Kilcher, CTO at DeepJudge. "
                "Today's episode is brought to you by Gurobi, the decision intelligence leader.",
            ),
            (
                "Sadie Lee",
                "Welcome to the Super Data Science podcast. I'm Sadie Lee, and I'm co-hosting "
                "today with Jon.",
            ),
            (
                "Jon Krohn",
                "Thanks, Sadie. Yannic Kilcher, welcome to the Super Data Science podcast. "
                "Where in the world are you calling in from today?",
            ),
            ("Yannic Kilcher", "In Zurich. Thanks for having me."),
        ],
        "feed": {
            "show_title": "Super Data Science: ML & AI Podcast with Jon Krohn",
            "author": "Jon Krohn",
            "channel_persons": [{"name": "Jon Krohn", "role": "host"}],
            "item_persons": [
                {"name": "Jon Krohn", "role": "host"},
                {"name": "Sadie Lee", "role": "co-host"},
                {"name": "Yannic Kilcher", "role": "guest"},
            ],
            "title": "733: OpenAssistant: The Open-Source ChatGPT Alternative",
            "notes": "<p>Dr. Yannic Kilcher, CTO at DeepJudge, joins Jon Krohn and Sadie Lee to "
            "talk about OpenAssistant. This episode is brought to you by Gurobi and by "
            "CloudWolf.</p>",
        },
    },
    # held out: four people; one guest welcomed by name, one never named in the talk
    "names_four": {
        "seed": 22,
        "minutes": 3.5,
        "start": "00:04:02",
        "voices": {
            "Alessio Fanelli": mc.Voice("piper", "joe", 0.0),
            "Swyx": mc.Voice("flite", "awb", 0.0),
            "Reza Shabani": mc.Voice("flite", "rms", -1.5),
            "Sadie Lee": mc.Voice("flite", "slt", 1.0),
        },
        "map": {
            "Jon Krohn": ["Alessio Fanelli", "Swyx"],
            "Yannic Kilcher": ["Reza Shabani", "Sadie Lee"],
        },
        "opening": [
            (
                "Alessio Fanelli",
                "Hey everyone, welcome to the Latent Space podcast. This is Alessio, partner and "
                "CTO in residence at Decibel Partners, and I'm joined by my co-host Swyx, "
                "founder of Smol AI. This episode is sponsored by Gurobi.",
            ),
            (
                "Swyx",
                "Hey, and today we are in the studio with two guests. Reza Shabani, welcome.",
            ),
            ("Reza Shabani", "Thanks for having me. It's great to be here."),
            (
                "Swyx",
                "And our second guest leads the data platform at Modal, and has been building "
                "open datasets for years.",
            ),
            ("Sadie Lee", "Glad to be on. It's a pleasure to talk to both of you."),
        ],
        "feed": {
            "show_title": "Latent Space: The AI Engineer Podcast",
            "author": "Alessio Fanelli and Swyx",
            "channel_persons": [
                {"name": "Alessio Fanelli", "role": "host"},
                {"name": "Swyx", "role": "host"},
            ],
            "item_persons": [
                {"name": "Alessio Fanelli", "role": "host"},
                {"name": "Swyx", "role": "co-host"},
                {"name": "Reza Shabani", "role": "guest"},
                {"name": "Sadie Lee", "role": "guest"},
            ],
            "title": "Open data and open models, with Reza Shabani and Sadie Lee",
            "notes": "<p>Reza Shabani of Replit and Sadie Lee of Modal join Alessio and Swyx "
            "on OpenAssistant, Llama and open datasets. Thanks to Gurobi for sponsoring.</p>",
        },
    },
    # held out: the item's people replace the channel's; one host, two guests
    "names_three_c": {
        "seed": 33,
        "minutes": 3.0,
        "start": "00:05:24",
        "voices": {
            "Sadie Lee": mc.Voice("flite", "slt", 1.0),
            "Yannic Kilcher": mc.Voice("flite", "rms", -1.5),
            "Jon Krohn": mc.Voice("piper", "joe", 0.0),
        },
        "map": {"Jon Krohn": ["Sadie Lee", "Jon Krohn"], "Yannic Kilcher": ["Yannic Kilcher"]},
        "opening": [
            ("Sadie Lee", "Welcome back to the show. I'm your host, Sadie Lee."),
            (
                "Sadie Lee",
                "Today I have two guests with me, both from the open-source world. Please "
                "welcome Yannic Kilcher.",
            ),
            ("Yannic Kilcher", "Hi, thanks for having me. I'm calling in from Zurich."),
            ("Jon Krohn", "And I'm Jon Krohn. Glad to be here as well."),
        ],
        "feed": {
            "show_title": "Open Source Hour",
            "author": "Kirill Eremenko",
            "channel_persons": [{"name": "Kirill Eremenko", "role": "host"}],
            "item_persons": [
                {"name": "Sadie Lee", "role": "host"},
                {"name": "Yannic Kilcher", "role": "guest"},
                {"name": "Jon Krohn", "role": "guest"},
            ],
            "title": "Open models in the open, with Yannic Kilcher and Jon Krohn",
            "notes": "<p>Sadie Lee talks with Yannic Kilcher and Jon Krohn about OpenAssistant, "
            "InstructGPT and human feedback.</p>",
        },
    },
}


def spoken(text: str) -> str:
    for written, said in SPOKEN.items():
        text = text.replace(written, said)
    return text


def episode_turns(spec: dict) -> list[mc.Turn]:
    """The opening, then the transcript's turns spread over the episode's people."""
    turns = [mc.Turn(s, t) for s, t in spec["opening"]]
    body = mc.conversation_turns(mc.DEFAULT_TRANSCRIPT, spec["start"], 2, 60)
    seen = {name: 0 for name in spec["map"]}
    for turn in body:
        people = spec["map"].get(turn.speaker)
        if not people:
            continue
        turns.append(mc.Turn(people[seen[turn.speaker] % len(people)], turn.text))
        seen[turn.speaker] += 1
    return turns


def make(name: str, spec: dict) -> None:
    original = mc.synthesize
    mc.synthesize = lambda voice, text: original(voice, spoken(text))
    try:
        voices = dict(spec["voices"])
        if mc.piper_voice() is None:
            voices = {n: mc.PIPER_FALLBACK if v.engine == "piper" else v for n, v in voices.items()}
        turns = episode_turns(spec)
        mix, placed = mc.build(turns, voices, spec["minutes"] * 60, 60, spec["seed"])
    finally:
        mc.synthesize = original
    out = DATA / name
    audio = mc.encode(mix.astype(np.float32), out)
    placed.sort(key=lambda p: p.onset)
    names = list(voices)
    truth = {
        "audio": audio.name,
        "duration": round(len(mix) / mc.SR, 3),
        "speakers": names,
        "voices": {n: voices[n].name for n in names},
        "turns": [
            {
                "speaker": p.speaker,
                "start": round(p.onset / mc.SR, 3),
                "end": round(p.offset / mc.SR, 3),
                "text": p.text,
            }
            for p in placed
        ],
        "reference_text": " ".join(p.text for p in placed),
    }
    out.with_suffix(".truth.json").write_text(
        json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    out.with_suffix(".feed.json").write_text(
        json.dumps(spec["feed"], indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"{audio} ({audio.stat().st_size / 1e6:.2f} MB, {len(mix) / mc.SR:.1f} s)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", choices=sorted(EPISODES))
    args = ap.parse_args()
    for name in args.only or EPISODES:
        make(name, EPISODES[name])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
