"""Naming speakers from what the episode says: the feed's people, the show notes and the talk.

Evidence is scored per (speaker, name) and names are given one-to-one, strongest first:
- a show voiceprint that matches the speaker's voice;
- a self-introduction ("I'm Jon Krohn", "my name is …", "this is …");
- being addressed ("welcome, Yannic", "Yannic, welcome to the show", "thanks, Yannic"): the name
  is not the speaker who said it, but whoever answers next;
- roles: "thanks for having me" marks a guest, "welcome to the show" / "I'm your host" a host,
  matched against `podcast:person` roles (channel and item) and the guests the show notes or
  title name ("with Reza Shabani of Replit", "Yannic Kilcher on Open Assistant").
A name heard in the talk is written as the feed or notes spell it when they know it.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass, field

import numpy as np

from podgrep.domain import Person, Segment

VOICE_MATCH = 0.82  # cosine between a voice centroid and a show voiceprint that names it
MIN_SCORE = 2.0
_NAME = r"[A-Z][\w'’\-]+(?:\s+(?:[A-Z][\w'’\-]+|de|van|von|der|da|di|del|la|le)){0,3}"
_NOT_NAMES = {
    "not",
    "sure",
    "glad",
    "so",
    "just",
    "really",
    "very",
    "here",
    "going",
    "the",
    "a",
    "an",
    "also",
    "actually",
    "still",
    "happy",
    "excited",
    "thrilled",
    "interested",
    "curious",
    "back",
    "good",
    "fine",
    "okay",
    "ok",
    "like",
    "doing",
    "in",
    "on",
    "at",
    "from",
    "with",
    "and",
    "but",
    "yes",
    "yeah",
    "no",
    "well",
    "thanks",
    "thank",
    "everyone",
    "everybody",
    "guys",
    "folks",
    "all",
    "today",
    "it",
    "that",
    "this",
    "what",
    "my",
    "your",
    "our",
    "i",
    "we",
    "you",
    "he",
    "she",
    "they",
    "super",
    "great",
    "welcome",
    "hi",
    "hello",
    "hey",
    "right",
    "exactly",
    "sorry",
    "afraid",
    "gonna",
    "trying",
    "always",
    "now",
    "definitely",
    "absolutely",
    "episode",
    "podcast",
    "show",
    "part",
    "one",
    "two",
    "mister",
    "doctor",
}
INTRO = re.compile(rf"\b(?:I'm|I am|my name is|my name's|this is)\s+(?P<name>{_NAME})", re.UNICODE)
ADDRESS = [
    re.compile(rf"\bwelcome(?: back)?(?: to the (?:show|podcast|program))?,?\s+(?P<name>{_NAME})"),
    # "Yannick culture, welcome…": Whisper often writes an unknown surname as a common word
    re.compile(rf"^(?P<name>{_NAME})(?:\s+[a-z]+)?,\s+(?:welcome|thanks|thank you|great to)"),
    re.compile(
        rf"\b(?:thanks|thank you)(?: so much| very much)?(?: for (?:joining|coming)"
        rf"(?: us)?)?,?\s+(?P<name>{_NAME})"
    ),
    re.compile(
        rf"\b(?:great|good|nice|wonderful) to (?:have|see) you(?: here| on the show)?,"
        rf"?\s+(?P<name>{_NAME})"
    ),
]
GUEST_SAYS = re.compile(
    r"\b(?:thanks|thank you)(?: so much| very much)? for having me\b|\b(?:glad|happy|great|"
    r"excited|thrilled) to be (?:here|on)\b",
    re.IGNORECASE,
)
HOST_SAYS = re.compile(
    r"\bwelcome to (?:the |this )?(?:[\w\s]{0,40})?(?:show|podcast|episode|program)\b|"
    r"\bI'm your host\b|\bmy guest(?:s)? (?:today|this week)\b|\btoday'?s guest\b|"
    r"\bon (?:today's|this) episode\b",
    re.IGNORECASE,
)
NOTES_GUEST = [
    re.compile(
        rf"\b(?:with|featuring|feat\.|guest|guests|joined by|interview with|"
        rf"conversation with|talk(?:s|ing)? (?:to|with)|speak(?:s|ing)? with)\s+"
        rf"(?P<name>{_NAME})"
    ),
    re.compile(
        rf"(?P<name>{_NAME})\s+(?:joins|of|from|\(|,\s+(?:the |a |an )?(?:CEO|CTO|"
        rf"founder|co-founder|professor|author|head|director|researcher|engineer))"
    ),
    re.compile(rf"^(?P<name>{_NAME})\s+(?:on|:|—|-|–)\s"),
]


@dataclass
class Candidate:
    """A name the episode offers, with the role it is known in and where it came from."""

    name: str
    role: str | None = None
    source: str = "feed"


@dataclass
class Naming:
    """What was decided for one speaker."""

    name: str | None = None
    source: str | None = None
    role: str | None = None
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def confidence(self) -> float | None:
        """The evidence score of the name given, if one was."""
        return self.scores.get(self.name) if self.name else None


def _clean(name: str) -> str | None:
    words = name.split()
    while words and words[-1].lower().strip(".,") in _NOT_NAMES:
        words.pop()
    if not words or words[0].lower() in _NOT_NAMES or words[0].isupper() and len(words[0]) > 1:
        return None
    return " ".join(w.strip(".,;:!?") for w in words) or None


def _text(markup: str | None) -> str:
    plain = re.sub(r"<[^>]+>", " ", markup or "")
    return " ".join(html.unescape(plain).split())


def notes_names(notes_html: str | None, title: str | None) -> list[str]:
    """Person-like names (two or more capitalised words) that show notes or a title present."""
    found: list[str] = []
    for text in (title or "", _text(notes_html)):
        for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
            for pattern in NOTES_GUEST:
                for m in pattern.finditer(sentence.strip()):
                    name = _clean(m.group("name"))
                    if name and len(name.split()) >= 2 and name not in found:
                        found.append(name)
    return found


def candidates(
    show_persons: list[Person], episode_persons: list[Person], notes: str | None, title: str | None
) -> list[Candidate]:
    """Every name the feed and the notes offer, the feed's roles first."""
    out: list[Candidate] = []
    seen: set[str] = set()
    for p in [*episode_persons, *show_persons]:
        if p.name and p.name.lower() not in seen:
            seen.add(p.name.lower())
            out.append(Candidate(p.name.strip(), (p.role or "host").lower(), "feed"))
    for name in notes_names(notes, title):
        if name.lower() not in seen and not any(_same(name, c.name) for c in out):
            seen.add(name.lower())
            out.append(Candidate(name, "guest", "notes"))
    return out


def _same(heard: str, known: str) -> bool:
    """Whether a heard name (maybe a first name, maybe misspelt) is this known name."""
    h, k = heard.lower().split(), known.lower().split()
    if not h or not k:
        return False
    if h == k or (len(h) == 1 and h[0] in k):
        return True
    ratio = difflib.SequenceMatcher(None, " ".join(h), " ".join(k if len(h) > 1 else k[:1]))
    return ratio.ratio() >= 0.8


def canonical(heard: str, known: list[Candidate]) -> tuple[str, Candidate | None]:
    """The known spelling of a heard name, if the feed or notes have it."""
    for c in known:
        if _same(heard, c.name):
            return c.name, c
    return heard, None


def _turn_after(labels: list[int], index: int) -> int | None:
    """The first speaker other than the one at `index` who speaks after it."""
    for k in labels[index + 1 :]:
        if k != labels[index]:
            return k
    return None


def name_speakers(
    segments: list[tuple[Segment, int]],
    count: int,
    known: list[Candidate],
    centroids: np.ndarray | None = None,
    prints: dict[str, np.ndarray] | None = None,
) -> list[Naming]:
    """A name (or none) for each of `count` speakers, from all the evidence there is."""
    scores: list[dict[str, float]] = [{} for _ in range(count)]
    sources: dict[tuple[int, str], tuple[float, str]] = {}
    roles: dict[str, str | None] = {c.name: c.role for c in known}

    def add(k: int, name: str, points: float, source: str) -> None:
        scores[k][name] = scores[k].get(name, 0.0) + points
        if points > 0 and points > sources.get((k, name), (0.0, ""))[0]:
            sources[(k, name)] = (points, source)

    if centroids is not None and prints:
        for k in range(min(count, len(centroids))):
            for name, vector in prints.items():
                sim = float(centroids[k] @ vector)
                if sim >= VOICE_MATCH:
                    add(k, name, 6.0 + 20 * (sim - VOICE_MATCH), "voiceprint")
                    roles.setdefault(name, None)
    labels = [k for _, k in segments]
    guestish, hostish = [0.0] * count, [0.0] * count
    for i, (seg, k) in enumerate(segments):
        text = seg.text
        for m in INTRO.finditer(text):
            heard = _clean(m.group("name"))
            if heard:
                name, _ = canonical(heard, known)
                add(k, name, 8.0, "intro")
                roles.setdefault(name, None)
        for pattern in ADDRESS:
            for m in pattern.finditer(text):
                heard = _clean(m.group("name"))
                if not heard:
                    continue
                name, _ = canonical(heard, known)
                roles.setdefault(name, None)
                add(k, name, -6.0, "address")
                other = _turn_after(labels, i)
                if other is not None:
                    add(other, name, 5.0, "address")
        if GUEST_SAYS.search(text):
            guestish[k] += 1
        if HOST_SAYS.search(text):
            hostish[k] += 1
    speech = [0.0] * count
    for seg, k in segments:
        speech[k] += seg.end - seg.start
    first = segments[0][1] if segments else None
    hosts = [c for c in known if c.role == "host"]
    guests = [c for c in known if c.role != "host"]
    for k in range(count):
        host_prior = (1.0 if k == first else 0.0) + (1.0 if speech[k] == max(speech) else 0.0)
        host_prior += 2.0 * min(hostish[k], 2) - 2.0 * min(guestish[k], 1)
        guest_prior = 2.0 * min(guestish[k], 1) - 1.0 * min(hostish[k], 1)
        for c in hosts:
            add(k, c.name, host_prior / max(1, len(hosts)) ** 0.5, c.source)
        for c in guests:
            add(k, c.name, guest_prior + (0.5 if k != first else 0.0), c.source)
    if count == 1 and len(hosts) == 1:
        add(0, hosts[0].name, 1.0, hosts[0].source)
    # one name per speaker and one speaker per name, strongest evidence first
    pairs = sorted(
        ((s, k, n) for k in range(count) for n, s in scores[k].items() if s >= MIN_SCORE),
        reverse=True,
    )
    out = [Naming(scores=scores[k]) for k in range(count)]
    taken: set[str] = set()
    for _score, k, name in pairs:
        if out[k].name is None and name not in taken:
            out[k] = Naming(
                name, sources.get((k, name), (0, "feed"))[1], roles.get(name), scores[k]
            )
            taken.add(name)
    for k in range(count):
        if out[k].role is None:
            if guestish[k] > hostish[k]:
                out[k].role = "guest"
            elif hostish[k] > guestish[k]:
                out[k].role = "host"
    return out
