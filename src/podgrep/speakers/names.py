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
    "i'm",
    "i've",
    "i'll",
    "i'd",
    "it's",
    "that's",
    "let's",
    "we're",
    "you're",
}
_TITLE = r"(?:(?:Dr|Prof|Mr|Mrs|Ms|Mx)\.?\s+|(?:Doctor|Professor)\s+)?"
# what may follow a name someone introduces: the end of a clause, or a word that goes on
# about the person ("I'm Jon Krohn, chief…", "this is Sarah from…"), never more of a sentence
# ("this is Python's biggest problem")
_AFTER_NAME = r"(?=\s*(?:[,.!?;:—–-]|$)|\s+(?:and|here|from|with|speaking|of|your|the host)\b)"
INTRO = re.compile(
    rf"(?i:\b(?:I'm|I am|my name is|my name's|this is))\s+{_TITLE}(?P<name>{_NAME})"
    rf"{_AFTER_NAME}|(?i:\bit's)\s+(?P<here>{_NAME})\s+here\b",
    re.UNICODE,
)
_NAMES = rf"(?P<name>{_NAME})(?:,?\s+and\s+(?P<name2>{_NAME}))?"
ADDRESS = [
    re.compile(
        rf"(?i:\bwelcome(?: back)?(?: to the (?:show|podcast|program))?),?\s+{_TITLE}{_NAMES}"
    ),
    # "Yannick culture, welcome…": Whisper often writes an unknown surname as a common word
    re.compile(
        rf"^{_TITLE}(?P<name>{_NAME})(?:\s+[a-z]+)?,\s+(?i:welcome|thanks|thank you|great to)"
    ),
    re.compile(
        rf"(?i:\b(?:thanks|thank you)(?: so much| very much)?(?: for (?:joining|coming)"
        rf"(?: us)?)?),?\s+{_TITLE}{_NAMES}"
    ),
    re.compile(
        rf"(?i:\b(?:great|good|nice|wonderful) to (?:have|see) you(?: here| on the show)?),"
        rf"?\s+{_TITLE}(?P<name>{_NAME})"
    ),
    # introducing someone else: the name is whoever speaks next, not the one saying it
    re.compile(
        rf"(?i:\b(?:joining (?:me|us)|with (?:me|us)|my (?:guests?|co-?hosts?)|our (?:guests?|"
        rf"co-?hosts?))(?: (?:today|tonight|this week|here|now|again))?(?: (?:is|are))?),?"
        rf"\s+{_TITLE}{_NAMES}"
    ),
    re.compile(rf"(?i:\b(?:please welcome|let me introduce|say hello to))\s+{_TITLE}{_NAMES}"),
    re.compile(rf"(?i:\b(?:hi|hey|hello)),?\s+(?P<name>{_NAME})(?=\s*[,.!?])"),
]
# nationalities and languages: "I'm Canadian" or "I'm English" introduces no one
_NOT_PEOPLE_TEXT = """
    american british english canadian australian irish scottish welsh french german dutch
    swiss austrian belgian italian spanish portuguese brazilian mexican argentinian chilean
    colombian peruvian cuban chinese japanese korean vietnamese thai indian pakistani
    bangladeshi indonesian filipino malaysian singaporean russian ukrainian polish czech
    slovak hungarian romanian bulgarian serbian croatian greek turkish israeli jewish arab
    arabic persian iranian iraqi egyptian moroccan nigerian kenyan ethiopian african asian
    european latino latina hispanic swedish norwegian danish finnish icelandic estonian
    latvian lithuanian catholic muslim hindu buddhist atheist republican democrat
    vegan vegetarian january february march july september october november december monday
    tuesday wednesday thursday friday saturday sunday"""
_NOT_PEOPLE = frozenset(_NOT_PEOPLE_TEXT.split())
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
    words = name.replace("’", "'").split()
    while words and words[-1].lower().strip(".,") in _NOT_NAMES:
        words.pop()
    if not words or words[0].lower() in _NOT_NAMES or words[0].isupper() and len(words[0]) > 1:
        return None
    if all(w.lower().strip(".,;:!?") in _NOT_PEOPLE for w in words):
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


def _heard(text: str) -> tuple[list[str], list[list[str]]]:
    """The names a segment introduces (`I'm Jon`) and, per address, those it speaks to
    (`welcome, Sarah and Tom`); a name two address patterns find ("please welcome Ada") once."""
    intros = [n for m in INTRO.finditer(text) if (n := _clean(m.group("name") or m.group("here")))]
    addresses: list[list[str]] = []
    seen: set[str] = set()
    for pattern in ADDRESS:
        for m in pattern.finditer(text):
            pair = m.groupdict().get("name2")
            names = [h for h in (_clean(m.group("name")), pair and _clean(pair)) if h]
            addresses.append([h for h in names if h not in seen])
            seen.update(names)
    return intros, addresses


def _full_names(
    heard: list[tuple[list[str], list[list[str]]]], known: list[Candidate]
) -> list[str]:
    """Names of two words or more heard in the talk that the feed and notes do not know."""
    found: list[str] = []
    for intros, addresses in heard:
        for name in [*intros, *(n for names in addresses for n in names)]:
            if (
                len(name.split()) > 1
                and name not in found
                and not any(_same(name, c.name) for c in known)
            ):
                found.append(name)
    return found


def _turns_after(labels: list[int], index: int, wanted: int) -> list[int]:
    """The first `wanted` speakers other than the one at `index` who speak after it."""
    found: list[int] = []
    for k in labels[index + 1 :]:
        if k != labels[index] and k not in found:
            found.append(k)
            if len(found) == wanted:
                break
    return found


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
    heard = [_heard(seg.text) for seg, _ in segments]
    # full names heard anywhere ("joining me is Tom Baker") spell a first name heard elsewhere
    # ("I'm Tom"), after the feed's and the notes' spellings
    known = known + [Candidate(n, None, "talk") for n in _full_names(heard, known)]
    guestish, hostish = [0.0] * count, [0.0] * count
    for i, ((seg, k), (intros, addresses)) in enumerate(zip(segments, heard, strict=True)):
        text = seg.text
        for spoken in intros:
            name, _ = canonical(spoken, known)
            add(k, name, 8.0, "intro")
            roles.setdefault(name, None)
        for names in addresses:
            # one name goes to whoever answers; two ("Sarah and Tom") to the next two voices
            others = _turns_after(labels, i, len(names))
            for spoken in names:
                name, _ = canonical(spoken, known)
                roles.setdefault(name, None)
                add(k, name, -6.0, "address")
                for other in others:
                    add(other, name, 5.0 if len(names) == 1 else 3.0, "address")
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
