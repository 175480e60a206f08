"""Naming speakers from what the episode says: the feed's people, the show notes and the talk.

Evidence is scored per (speaker, name) and names are given one-to-one, strongest first:
- a show voiceprint that matches the speaker's voice;
- a self-introduction ("I'm Jon Krohn", "my name is …", "this is …");
- being addressed ("welcome, Yannic", "Yannic, welcome to the show", "thanks, Yannic"): the name
  is not the speaker who said it, but whoever answers next;
- roles: "thanks for having me" marks a guest, "welcome to the show" / "I'm your host" a host,
  matched against `podcast:person` roles (channel and item) and the guests the show notes or
  title name ("with Reza Shabani of Replit", "Yannic Kilcher on Open Assistant").
A name heard in the talk is written as the feed or notes spell it when they know it, also when
Whisper misheard it ("Yannick culture", "swikes"): a heard name matches a known one close in
spelling (difflib) or in sound (a compact phonetic key), and only one known name may match.

The people of an episode are its item's `podcast:person` tags when it has any (they replace the
channel's, as the Podcasting 2.0 spec says), else the channel's. Roles count: a host-only list
does not name a guest, and a recording of one voice is named only with evidence from the talk
(an introduction, "I'm your host" with one host listed) or the notes ("a speech by …"), never
merely because the feed lists a host. When the feed lists N people, N voices speak and N−1 of
them are named, the last voice gets the last person if its role fits.
"""

from __future__ import annotations

import difflib
import html
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from podgrep.domain import Person, Segment

VOICE_MATCH = 0.82  # cosine between a voice centroid and a show voiceprint that names it
MIN_SCORE = 2.0
_NAME = (
    r"[A-Z][\w'’\-]+(?:\s+(?:[A-Z][\w'’\-]+|[A-Z]\.(?=\s+[A-Z])|de|van|von|der|da|di|del|la|le))"
    r"{0,3}"
)
# words before a name that are no part of it: honorifics, offices, job titles ("President John
# F. Kennedy", "Google CEO Sundar Pichai", "DeepJudge CTO Yannic Kilcher")
_TITLES_TEXT = """president vice senator governor mayor judge justice sir dame lord lady rev
    reverend father sister brother rabbi imam pastor bishop pope captain general colonel major
    lieutenant sergeant admiral chancellor minister prime secretary representative congressman
    congresswoman ambassador king queen prince princess chief ceo cto cfo coo cmo cio vp
    founder co-founder cofounder chairman chairwoman chair professor prof dr doctor mr mrs ms
    mx host co-host guest author editor"""
_TITLE_WORDS = frozenset(_TITLES_TEXT.split())
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
# a name Whisper wrote in lower case ("welcome, swikes"): only taken when it matches a known one
_LOOSE = r"(?i:[a-z][\w'’\-]+(?:\s+[a-z][\w'’\-]+)?)"
# where a sentence starts inside a segment ("Let's go. Yannic Kilcher, welcome …")
_START = r"(?:^|(?<=[.!?] ))"


def _intro(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?i:\b(?:I'm|I am|this is)\s+your\s+(?:co-?)?host),?\s+{_TITLE}(?P<host>{name})"
        rf"|(?i:\b(?:I'm|I am|my name is|my name's|this is))\s+{_TITLE}(?P<name>{name})"
        rf"{_AFTER_NAME}|(?i:\bit's)\s+(?P<here>{name})\s+here\b",
        re.UNICODE,
    )


def _addresses(name: str) -> list[re.Pattern[str]]:
    names = rf"(?P<name>{name})(?:,?\s+and\s+(?P<name2>{name}))?"
    return [
        re.compile(
            rf"(?i:\bwelcome(?: back)?(?: to the (?:show|podcast|program))?),?\s+{_TITLE}{names}"
        ),
        # "Yannick culture, welcome…": Whisper often writes an unknown surname as a common word
        re.compile(
            rf"{_START}{_TITLE}(?P<name>{name})(?:\s+[a-z]+)?,\s+"
            rf"(?i:welcome|thanks|thank you|great to)"
        ),
        re.compile(
            rf"(?i:\b(?:thanks|thank you)(?: so much| very much)?(?: for (?:joining|coming)"
            rf"(?: us)?)?),?\s+{_TITLE}{names}"
        ),
        re.compile(
            rf"(?i:\b(?:great|good|nice|wonderful) to (?:have|see) you(?: here| on the show)?),"
            rf"?\s+{_TITLE}(?P<name>{name})"
        ),
        # introducing someone else: the name is whoever speaks next, not the one saying it
        re.compile(
            rf"(?i:\b(?:joining (?:me|us)|with (?:me|us)|my (?:guests?|co-?hosts?)|our (?:guests?|"
            rf"co-?hosts?))(?: (?:today|tonight|this week|here|now|again))?(?: (?:is|are))?),?"
            rf"\s+{_TITLE}{names}"
        ),
        re.compile(rf"(?i:\b(?:please welcome|let me introduce|say hello to))\s+{_TITLE}{names}"),
        re.compile(rf"(?i:\b(?:hi|hey|hello)),?\s+(?P<name>{name})(?=\s*[,.!?])"),
    ]


INTRO = _intro(_NAME)
ADDRESS = _addresses(_NAME)
_LOOSE_INTRO = _intro(_LOOSE)
_LOOSE_ADDRESS = _addresses(_LOOSE)
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
# what only the host of a show says of themself: with one host listed, a name for a lone voice
SELF_HOST = re.compile(
    r"\b(?:I'm|I am|this is) your (?:co-?)?host\b|\bwelcome (?:back )?to (?:the|this|my) "
    r"(?:[\w\s]{0,40})?(?:show|podcast)\b",
    re.IGNORECASE,
)
NOTES_GUEST = [
    re.compile(
        rf"\b(?:with|featuring|feat\.|guest|guests|joined by|interview with|"
        rf"conversation with|talk(?:s|ing)? (?:to|with)|speak(?:s|ing)? with)\s+{_TITLE}"
        rf"(?P<name>{_NAME})"
    ),
    re.compile(
        rf"(?P<name>{_NAME})\s+(?:joins|of|from|\(|,\s+(?:the |a |an )?(?:CEO|CTO|"
        rf"founder|co-founder|professor|author|head|director|researcher|engineer))"
    ),
    re.compile(rf"^(?P<name>{_NAME})\s+(?:on|:|—|-|–)\s"),
]
# notes that say whose voice a recording is: "a speech by …", "read by …", "… speaks at …"
NOTES_SPEAKER = [
    re.compile(
        rf"(?i:\b(?:speech|talk|keynote|lecture|address|sermon|reading|monologue|remarks|"
        rf"recital|performance|song|solo episode) (?:by|from))\s+{_TITLE}(?P<name>{_NAME})"
    ),
    re.compile(
        rf"(?i:\b(?:read|narrated|performed|sung|presented|delivered|told|hosted|spoken) by)\s+"
        rf"{_TITLE}(?P<name>{_NAME})"
    ),
    re.compile(
        rf"(?P<name>{_NAME})\s+(?:speaks|reads|talks about|gives (?:a|the) |delivers|performs|"
        rf"sings|narrates|explains|shares)\b"
    ),
]
# Podcasting 2.0 roles (lowercase in the spec's taxonomy): those who host, those who guest;
# other cast roles (narrator, announcer, reporter…) get no prior, and people outside the cast
# group (editors, producers, writers) are named only when the talk names them
HOST_ROLES = frozenset({"host", "co-host", "cohost", "guest host"})
GUEST_ROLES = frozenset({"guest"})
MAJOR_SHARE = 0.05  # a voice with less of the speech than this is not counted as a person


@dataclass
class Candidate:
    """A name the episode offers, with the role it is known in and where it came from."""

    name: str
    role: str | None = None
    source: str = "feed"
    group: str = "cast"
    speaker_in_notes: bool = False  # the notes name them as the voice ("a speech by …")

    @property
    def hosts(self) -> bool:
        return self.group == "cast" and (self.role or "") in HOST_ROLES

    @property
    def guests(self) -> bool:
        return self.group == "cast" and (self.role or "") in GUEST_ROLES


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
    titled = [i for i, w in enumerate(words) if w.lower().strip(".,") in _TITLE_WORDS]
    if titled and titled[-1] < len(words) - 1:  # the name is what follows the last title
        words = words[titled[-1] + 1 :]
    while words and words[-1].lower().strip(".,") in _NOT_NAMES:
        words.pop()
    if not words or words[0].lower() in _NOT_NAMES or words[0].isupper() and len(words[0]) > 1:
        return None
    if all(w.lower().strip(".,;:!?") in _NOT_PEOPLE for w in words):
        return None
    kept = [w if re.fullmatch(r"[A-Z]\.", w) else w.strip(".,;:!?") for w in words]
    return " ".join(kept) or None


def _text(markup: str | None) -> str:
    plain = re.sub(r"<[^>]+>", " ", markup or "")
    return " ".join(html.unescape(plain).split())


def _sentences(notes_html: str | None, title: str | None) -> list[str]:
    return [
        sentence.strip()
        for text in (title or "", _text(notes_html))
        # not after an initial or an honorific: "John F. Kennedy", "Dr. Ada Lovelace"
        for sentence in re.split(
            r"(?<! [A-Z]\.)(?<!\b(?:Dr|Mr|Ms|St)\.)(?<!Mrs\.)(?<!Prof\.)(?<=[.!?])\s+|\n", text
        )
        if sentence.strip()
    ]


def _notes_matches(notes_html: str | None, title: str | None, patterns: list) -> list[str]:
    """The names of two or more words that `patterns` find in the notes or title, in order."""
    found: list[str] = []
    for sentence in _sentences(notes_html, title):
        for pattern in patterns:
            for m in pattern.finditer(sentence):
                name = _clean(m.group("name"))
                if name and len(name.split()) >= 2 and name not in found:
                    found.append(name)
    return found


def notes_names(notes_html: str | None, title: str | None) -> list[str]:
    """Person-like names (two or more capitalised words) that show notes or a title present."""
    return _notes_matches(notes_html, title, NOTES_GUEST)


def notes_speakers(notes_html: str | None, title: str | None) -> list[str]:
    """Names the notes or title give as the voice of the recording ("a speech by Ada Lovelace")."""
    return _notes_matches(notes_html, title, NOTES_SPEAKER)


def episode_people(show_persons: list[Person], episode_persons: list[Person]) -> list[Person]:
    """The episode's people: its item's `podcast:person` tags when it has any, which replace the
    channel's (Podcasting 2.0), else the channel's."""
    return list(episode_persons) if episode_persons else list(show_persons)


def candidates(
    show_persons: list[Person], episode_persons: list[Person], notes: str | None, title: str | None
) -> list[Candidate]:
    """Every name the feed and the notes offer, the feed's people (item replacing channel)
    first, with their roles; then guests the notes or title name."""
    out: list[Candidate] = []
    seen: set[str] = set()
    for p in episode_people(show_persons, episode_persons):
        if p.name and p.name.strip() and p.name.strip().lower() not in seen:
            seen.add(p.name.strip().lower())
            role = (p.role or "host").strip().lower()
            group = (p.group or "cast").strip().lower()
            out.append(Candidate(p.name.strip(), role, "feed", group))
    for name in notes_names(notes, title):
        if name.lower() not in seen and _match(name, out) is None:
            seen.add(name.lower())
            out.append(Candidate(name, "guest", "notes"))
    for name in notes_speakers(notes, title):
        known = _match(name, out)
        if known is None:
            known = Candidate(name, None, "notes")
            out.append(known)
        known.speaker_in_notes = True
    return out


# -- matching a heard name to a known one --------------------------------------------------


def _fold(word: str) -> str:
    """Lower case, accents and everything but letters dropped."""
    plain = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in plain if "a" <= c <= "z")


_SOUNDS = [
    ("x", "ks"), ("chr", "kr"), ("sch", "sk"), ("ph", "f"), ("ck", "k"), ("ch", "x"),
    ("sh", "x"), ("th", "t"), ("gh", ""), ("wh", "w"), ("kn", "n"), ("qu", "kw"), ("q", "k"),
    ("z", "s"), ("ce", "se"), ("ci", "si"), ("cy", "si"), ("c", "k"), ("v", "f"), ("dg", "j"),
]  # fmt: skip


def sound_key(word: str) -> str:
    """A compact phonetic key (in the spirit of Soundex and Metaphone): spelling variants of a
    sound written one way, doubled letters once, and of the vowels only the first kept, `y`
    counted as `i` after a consonant: "Swyx" and "swikes" are "swiks", "Jon" and "John" "jon"."""
    w = _fold(word)
    for a, b in _SOUNDS:
        w = w.replace(a, b)
    out: list[str] = []
    vowel = False
    for i, c in enumerate(w):
        if c == "y" and i > 0:
            c = "i"
        if c == "h" and i > 0:
            continue  # silent after a consonant or vowel ("John", "Sarah")
        if c in "aeiou":
            if vowel:
                continue
            vowel = True
        if out and out[-1] == c:
            continue
        out.append(c)
    return "".join(out)


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _token_score(heard: str, known: str) -> float:
    """How surely a heard word is a known name's word: 1 the same, 0.9 close in spelling, 0.8
    the same sound; 0 otherwise. Short words need more than their sound ("Dan" is not "Don",
    "Jack" is not "Jake"), and a name is not a longer one it begins ("Yann", "Yannic")."""
    h, k = _fold(heard), _fold(known)
    if not h or not k:
        return 0.0
    if h == k:
        return 1.0
    key_h, key_k = sound_key(h), sound_key(k)
    close = min(len(h), len(k)) >= 3 and _ratio(h, k) >= 0.8
    if close and (key_h == key_k or abs(len(h) - len(k)) <= 1):  # "Yann" is not "Yannic"
        return 0.9
    if key_h == key_k and len(key_h) >= 4:
        return 0.8
    return 0.0


def _surname_close(heard: str, known: str) -> bool:
    """A misheard surname ("culture" for "Kilcher"): same first sound, half the key alike."""
    key_h, key_k = sound_key(heard), sound_key(known)
    return bool(key_h and key_k) and key_h[0] == key_k[0] and _ratio(key_h, key_k) >= 0.5


def name_score(heard: str, known: str) -> float:
    """How surely a heard name (maybe a first name, maybe misheard) is this known name; 0: not.

    One word matches the known first name (close in spelling or sound) or any of its words
    exactly ("Kilcher"); more words match when the first names match and the last names do, or
    are at least alike in sound ("Yannick culture" for "Yannic Kilcher")."""
    h, k = heard.split(), known.split()
    if not h or not k:
        return 0.0
    if [_fold(w) for w in h] == [_fold(w) for w in k]:
        return 1.0
    if len(h) == 1:
        if any(_fold(h[0]) == _fold(w) for w in k[1:]):
            return 0.9
        return _token_score(h[0], k[0])
    first = _token_score(h[0], k[0])
    if len(k) == 1:
        return 0.0
    last = _token_score(h[-1], k[-1])
    if not first:
        # "Resid Shabani" for "Reza Shabani": the surname as written, the same initial
        return 0.6 if last >= 0.9 and _fold(h[0])[:1] == _fold(k[0])[:1] else 0.0
    if last:
        return min(first, last)
    return 0.6 if _surname_close(h[-1], k[-1]) else 0.0


def _match(heard: str, known: list[Candidate]) -> Candidate | None:
    """The one known name a heard name is, or None: none matches, or two match equally well."""
    scored = sorted(((name_score(heard, c.name), i) for i, c in enumerate(known)), reverse=True)
    if not scored or scored[0][0] <= 0:
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        best, other = known[scored[0][1]], known[scored[1][1]]
        if best.name.lower() != other.name.lower():
            return None
    return known[scored[0][1]]


def _same(heard: str, known: str) -> bool:
    """Whether a heard name (maybe a first name, maybe misspelt) is this known name."""
    return name_score(heard, known) > 0


def canonical(heard: str, known: list[Candidate]) -> tuple[str, Candidate | None]:
    """The known spelling of a heard name, if the feed or notes have it."""
    match = _match(heard, known)
    return (match.name, match) if match else (heard, None)


# -- evidence from the talk ----------------------------------------------------------------


def _loose(spoken: str, known: list[Candidate]) -> str | None:
    """A lower-case name heard ("swikes and …") when it, or its first word, is a known name."""
    name = _clean(spoken)
    if not name:
        return None
    words = name.split()
    for n in (len(words), 1):
        part = " ".join(words[:n])
        if part.lower() not in _NOT_NAMES and _match(part, known) is not None:
            return part
    return None


def _heard(text: str, known: list[Candidate] | None = None) -> tuple[list[str], list[list[str]]]:
    """The names a segment introduces (`I'm Jon`) and, per address, those it speaks to
    (`welcome, Sarah and Tom`); a name two address patterns find ("please welcome Ada") once.
    With `known` names, lower-case words where a name goes count when they match one."""
    intros: list[str] = []
    for m in INTRO.finditer(text):
        n = _clean(m.group("host") or m.group("name") or m.group("here"))
        if n:
            intros.append(n)
    addresses: list[list[str]] = []
    seen: set[str] = set()
    for pattern in ADDRESS:
        for m in pattern.finditer(text):
            pair = m.groupdict().get("name2")
            names = [h for h in (_clean(m.group("name")), pair and _clean(pair)) if h]
            addresses.append([h for h in names if h not in seen])
            seen.update(names)
    if known:
        said = {w.lower() for n in [*intros, *seen] for w in n.split()}
        for m in _LOOSE_INTRO.finditer(text):
            spoken = m.group("host") or m.group("name") or m.group("here")
            n = _loose(spoken, known)
            if n and n.split()[0].lower() not in said:
                intros.append(n)
                said.update(w.lower() for w in n.split())
        for pattern in _LOOSE_ADDRESS:
            for m in pattern.finditer(text):
                n = _loose(m.group("name"), known)
                if n and n.split()[0].lower() not in said:
                    addresses.append([n])
                    said.update(w.lower() for w in n.split())
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


def _role_fits(c: Candidate, hostish: float, guestish: float) -> bool:
    """Whether what a voice said of its role allows this person's role."""
    if c.hosts:
        return guestish <= hostish
    if c.guests:
        return hostish <= guestish
    return hostish == guestish == 0


SURE_WORD = (
    0.5  # a name nobody lists is taken from the talk only if each word was heard this surely
)


def _heard_surely(seg: Segment, spoken: str) -> bool:
    """Whether every word of `spoken` was heard with at least SURE_WORD probability in `seg`
    (a transcript without word confidences counts as sure)."""
    said: dict[str, float] = {}
    for w in seg.words:
        said.setdefault(w.word.strip(" .,;:!?\"'").lower(), w.probability)
    for part in spoken.lower().split():
        p = said.get(part.strip(".,;:!?"))
        if p is not None and p < SURE_WORD:
            return False
    return True


def name_speakers(
    segments: list[tuple[Segment, int]],
    count: int,
    known: list[Candidate],
    centroids: np.ndarray | None = None,
    prints: dict[str, np.ndarray] | None = None,
) -> list[Naming]:
    """A name (or none) for each of `count` speakers, from all the evidence there is."""
    scores: list[dict[str, float]] = [{} for _ in range(count)]
    evidence: list[dict[str, float]] = [{} for _ in range(count)]  # from voice, talk, notes
    sources: dict[tuple[int, str], tuple[float, str]] = {}
    roles: dict[str, str | None] = {c.name: c.role for c in known}
    feed = list(known)
    people = [c for c in feed if c.source == "feed" and c.group == "cast"]

    def add(k: int, name: str, points: float, source: str, prior: bool = False) -> None:
        scores[k][name] = scores[k].get(name, 0.0) + points
        if not prior:
            evidence[k][name] = evidence[k].get(name, 0.0) + points
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
    heard = [_heard(seg.text, known) for seg, _ in segments]
    # full names heard anywhere ("joining me is Tom Baker") spell a first name heard elsewhere
    # ("I'm Tom"), after the feed's and the notes' spellings
    known = known + [Candidate(n, None, "talk") for n in _full_names(heard, known)]
    guestish, hostish, selfhost = [0.0] * count, [0.0] * count, [0.0] * count
    for i, ((seg, k), (intros, addresses)) in enumerate(zip(segments, heard, strict=True)):
        text = seg.text
        for spoken in intros:
            name, match = canonical(spoken, known)
            if match is None or match.source == "talk":
                # whoever says "I'm <a name nobody lists>" is none of the people listed
                for person in people:
                    add(k, person.name, -8.0, "intro")
                if not _heard_surely(seg, spoken):
                    continue  # "I'm John Chrome", Chrome at 0.30: misheard, no name to give
            add(k, name, 8.0, "intro")
            roles.setdefault(name, None)
        for names in addresses:
            # one name goes to whoever answers; two ("Sarah and Tom") to the next two voices
            others = _turns_after(labels, i, len(names))
            for spoken in names:
                name, match = canonical(spoken, known)
                if match is None and people:
                    continue  # the feed lists who speaks: a name it lacks is misheard or absent
                if match is not None and match.source == "talk" and people:
                    continue
                roles.setdefault(name, None)
                add(k, name, -6.0, "address")
                for other in others:
                    add(other, name, 5.0 if len(names) == 1 else 3.0, "address")
        if GUEST_SAYS.search(text):
            guestish[k] += 1
        if HOST_SAYS.search(text):
            hostish[k] += 1
        if SELF_HOST.search(text):
            selfhost[k] += 1
    speech = [0.0] * count
    for seg, k in segments:
        speech[k] += seg.end - seg.start
    first = segments[0][1] if segments else None
    hosts = [c for c in feed if c.hosts]
    guests = [c for c in known if c.guests]
    if count == 1:
        # one voice: a name only with evidence, never because the feed lists a host
        if selfhost[0] and not guestish[0] and len(hosts) == 1:
            add(0, hosts[0].name, 3.0, hosts[0].source)
        said = [c for c in known if c.speaker_in_notes]
        if len(said) == 1:
            add(0, said[0].name, 3.0, "notes")
    else:
        for k in range(count):
            host_prior = (1.0 if k == first else 0.0) + (1.0 if speech[k] == max(speech) else 0.0)
            host_prior += 2.0 * min(hostish[k], 2) - 2.0 * min(guestish[k], 1)
            guest_prior = 2.0 * min(guestish[k], 1) - 1.0 * min(hostish[k], 1)
            for c in hosts:
                add(k, c.name, host_prior / max(1, len(hosts)) ** 0.5, c.source, prior=True)
            for c in guests:
                points = (guest_prior + (0.5 if k != first else 0.0)) / max(1, len(guests))
                add(k, c.name, points, c.source, prior=True)
    # one name per speaker and one speaker per name, strongest evidence first; a name the
    # priors alone suggest is not given where another name is as likely for that voice
    pairs = sorted(
        ((s, k, n) for k in range(count) for n, s in scores[k].items() if s >= MIN_SCORE),
        reverse=True,
    )
    out = [Naming(scores=scores[k]) for k in range(count)]
    taken: set[str] = set()
    for score, k, name in pairs:
        if out[k].name is not None or name in taken:
            continue
        if evidence[k].get(name, 0.0) <= 0 and any(
            other != name and other not in taken and s >= score - 0.25
            for other, s in scores[k].items()
        ):
            continue
        out[k] = Naming(name, sources.get((k, name), (0, "feed"))[1], roles.get(name), scores[k])
        taken.add(name)
    _last_one_left(out, feed, taken, speech, hostish, guestish, roles)
    for k in range(count):
        if out[k].role is None:
            if guestish[k] > hostish[k]:
                out[k].role = "guest"
            elif hostish[k] > guestish[k]:
                out[k].role = "host"
    return out


def _last_one_left(
    out: list[Naming],
    feed: list[Candidate],
    taken: set[str],
    speech: list[float],
    hostish: list[float],
    guestish: list[float],
    roles: dict[str, str | None],
) -> None:
    """The feed lists N people, N voices speak and N−1 are named: the last voice is the last
    person, if its role fits what the voice said of itself."""
    people = [c for c in feed if c.source == "feed" and c.group == "cast"]
    total = sum(speech)
    voices = [k for k, s in enumerate(speech) if total and s >= MAJOR_SHARE * total]
    if len(out) < 2 or not people or len(people) != len(voices):
        return
    unnamed = [k for k in voices if out[k].name is None]
    left = [c for c in people if c.name not in taken]
    if len(unnamed) != 1 or len(left) != 1:
        return
    k, c = unnamed[0], left[0]
    if _role_fits(c, hostish[k], guestish[k]):
        out[k] = Naming(c.name, "last", roles.get(c.name), out[k].scores)
        taken.add(c.name)
