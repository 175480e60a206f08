"""Names (issue #13): names heard right with and without hotwords, WER, naming precision/recall.

    python benchmarks/names.py [--model tiny.en] [--json] [EPISODE ...]

Episodes (benchmarks/data, made by make_names_episodes.py, each with `.truth.json` and
`.feed.json`): names_three (host, co-host, guest; the one the rules were tuned on),
names_four (four people, one never named in the talk) and names_three_c (the item's people
replace the channel's; one host, two guests), both held out, and conversation_three (three
people, no names said at all: held out too, its feed as speakers.py gives it, plus the co-host).

For each, the file is transcribed twice with podgrep's engine: without hotwords, then with the
hotwords `asr.hotwords.episode_hotwords` builds from the feed (the way the transcribe step does).

- heard: occurrences of the feed's names in the reference (every word of the people's names,
  and the words of the other hotwords that the reference says: sponsors, products) that the
  transcript has too, counted per word as min(reference, transcript);
- WER of the whole file, without and with hotwords (normalised as benchmarks/asr.py does);
- naming: the transcript (with hotwords) is diarized and the voices named; a voice is mapped to
  the truth's speaker as DER maps it. precision = voices named right / voices named (a wrong
  name counts against it), recall = voices named right / the truth's speakers with a person in
  the feed. "before" is `speakers/names.py` as committed before this work (`--before REV`,
  default deeed88) on the transcript without hotwords.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
# nothing in benchmarks/ is imported as a module: keep its folder off the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

from podgrep import audio  # noqa: E402
from podgrep.asr.hotwords import episode_hotwords  # noqa: E402
from podgrep.asr.whisper import Engines  # noqa: E402
from podgrep.config import load_settings  # noqa: E402
from podgrep.domain import Episode, Person, Segment, Show  # noqa: E402
from podgrep.speakers import names as names_now  # noqa: E402
from podgrep.speakers.diarize import diarize  # noqa: E402
from podgrep.speakers.metrics import der  # noqa: E402

ROOT = HERE.parent
DATA = ROOT / "benchmarks" / "data"
EPISODES = ["names_three", "names_four", "names_three_c", "conversation_three"]
TUNING = {"names_three"}


def _module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


_asr = _module("benchmark_asr", HERE / "asr.py")  # the WER of benchmarks/asr.py
normalise, wer = _asr.normalise, _asr.wer


def load_before(rev: str) -> ModuleType:
    """`speakers/names.py` as committed at `rev`, as a module of its own."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:src/podgrep/speakers/names.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    folder = Path(tempfile.mkdtemp())
    path = folder / "names_before.py"
    path.write_text(source)
    return _module("names_before", path)


def feed_of(name: str) -> dict:
    return json.loads((DATA / f"{name}.feed.json").read_text())


def show_and_episode(feed: dict) -> tuple[Show, Episode]:
    show = Show(
        id=None,
        feed_url="https://example.com/feed.xml",
        title=feed["show_title"],
        author=feed["author"],
        persons=[Person(**p) for p in feed["channel_persons"]],
    )
    ep = Episode(
        id=None,
        show_id=None,
        guid="benchmark",
        title=feed["title"],
        show_notes_html=feed["notes"],
        persons=[Person(**p) for p in feed["item_persons"]],
    )
    return show, ep


def target_words(feed: dict, hotwords: str, reference: list[str]) -> list[str]:
    """Words of the people's names, and of the hotwords the reference says."""
    words = [w for p in feed["item_persons"] for w in normalise(p["name"])]
    words += [w for w in normalise(hotwords) if w in reference]
    common = {"the", "and", "with", "of", "ai", "ml", "podcast", "data", "science", "open"}
    return sorted({w for w in words if w not in common})


def heard(targets: list[str], reference: list[str], hypothesis: list[str]) -> tuple[int, int]:
    ref, hyp = Counter(reference), Counter(hypothesis)
    return sum(min(ref[w], hyp[w]) for w in targets), sum(ref[w] for w in targets)


def transcribe(engine, path: Path, hotwords: str | None) -> list[Segment]:
    found: list[Segment] = []
    for _, window in engine.transcribe_stream(audio.stream(path), language="en", hotwords=hotwords):
        found.extend(window)
    return found


def naming(module: ModuleType, path: Path, segments: list[Segment], feed: dict, truth: dict):
    """(named right, named, truth speakers in the feed, {voice: (name, truth speaker)})."""
    show, ep = show_and_episode(feed)
    result = diarize(audio.stream(path), segments)
    known = module.candidates(show.persons, ep.persons, ep.show_notes_html, ep.title)
    namings = module.name_speakers(result.segments, result.count, known, result.centroids)
    labels = [f"S{k + 1}" for k in range(result.count)]
    hyp: list[tuple[str, float, float]] = []
    for seg, k in result.segments:
        if hyp and hyp[-1][0] == labels[k] and seg.start - hyp[-1][2] < 1.5:
            hyp[-1] = (labels[k], hyp[-1][1], max(hyp[-1][2], seg.end))
        else:
            hyp.append((labels[k], seg.start, seg.end))
    reference = [(t["speaker"], t["start"], t["end"]) for t in truth["turns"]]
    mapping = der(reference, hyp, collar=0.25).mapping
    people = {p["name"] for p in feed["item_persons"]} & set(truth["speakers"])
    given = {labels[k]: (n.name, mapping.get(labels[k])) for k, n in enumerate(namings) if n.name}
    right = sum(1 for name, who in given.values() if name == who)
    return right, len(given), len(people), given


def run(name: str, engines: Engines, before: ModuleType) -> dict:
    path = DATA / f"{name}.mp3"
    truth = json.loads(path.with_suffix(".truth.json").read_text())
    feed = feed_of(name)
    show, ep = show_and_episode(feed)
    hot = episode_hotwords(show, ep)
    engine = engines()
    reference = normalise(truth["reference_text"])
    plain = transcribe(engine, path, None)
    hinted = transcribe(engine, path, hot)
    plain_words = normalise(" ".join(s.text for s in plain))
    hinted_words = normalise(" ".join(s.text for s in hinted))
    targets = target_words(feed, hot, reference)
    old = naming(before, path, plain, feed, truth)
    new_plain = naming(names_now, path, plain, feed, truth)
    new = naming(names_now, path, hinted, feed, truth)
    return {
        "episode": name,
        "split": "tuning" if name in TUNING else "held-out",
        "people": len(truth["speakers"]),
        "hotwords": hot,
        "targets": targets,
        "heard_before": heard(targets, reference, plain_words),
        "heard_after": heard(targets, reference, hinted_words),
        "wer_before": wer(reference, plain_words),
        "wer_after": wer(reference, hinted_words),
        "naming_before": old[:3],
        "naming_no_hotwords": new_plain[:3],
        "naming_after": new[:3],
        "named_before": old[3],
        "named_after": new[3],
    }


def _pr(right: int, named: int, people: int) -> str:
    p = right / named if named else 1.0
    return f"{p:4.0%} {right / max(1, people):4.0%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("episodes", nargs="*", default=EPISODES)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument(
        "--before", default="deeed88", help="git revision of the names.py to compare with"
    )
    parser.add_argument("--json", action="store_true", help="Also print each row as JSON.")
    args = parser.parse_args()
    before = load_before(args.before)
    settings = load_settings(None, model=args.model)
    engines = Engines(settings, notify=lambda m: print(f"note: {m}", file=sys.stderr))
    rows = []
    for name in args.episodes:
        print(f"{name} …", file=sys.stderr)
        rows.append(run(name, engines, before))
        if args.json:
            print(json.dumps(rows[-1]), file=sys.stderr)
    head = (
        f"{'episode':20} {'split':9} {'ppl':>3} {'heard before':>12} {'after':>7}"
        f" {'WER before':>10} {'after':>6}  {'P/R before':>10}  {'P/R no-hot':>10}"
        f"  {'P/R after':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        hb, ha = r["heard_before"], r["heard_after"]
        print(
            f"{r['episode']:20} {r['split']:9} {r['people']:>3} {hb[0]:>5}/{hb[1]:<6}"
            f" {ha[0]:>3}/{ha[1]:<3} {r['wer_before']:10.2%} {r['wer_after']:6.2%}"
            f"  {_pr(*r['naming_before']):>10}  {_pr(*r['naming_no_hotwords']):>10}"
            f"  {_pr(*r['naming_after']):>9}"
        )
    held = [r for r in rows if r["split"] == "held-out"]
    if held:
        right = sum(r["naming_after"][0] for r in held)
        named = sum(r["naming_after"][1] for r in held)
        people = sum(r["naming_after"][2] for r in held)
        old_right = sum(r["naming_before"][0] for r in held)
        old_named = sum(r["naming_before"][1] for r in held)
        print(
            f"held-out naming: precision {right}/{named}, recall {right}/{people}"
            f" (before: {old_right}/{old_named}, {old_right}/{people})"
        )
    print("P/R: naming precision / recall; before: names.py of --before on the plain transcript")
    for r in rows:
        print(f"{r['episode']}: after {r['named_after']}  before {r['named_before']}")


if __name__ == "__main__":
    main()
