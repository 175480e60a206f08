"""A word tree (keyword in context): every time a word or phrase is said in an episode, a show
or the library, with what was said just before and after, grouped by the words that follow.

Words match as search matches them (`words.py`: folded, Porter-stemmed, so "models" finds
"model"); a phrase matches its words in order, also across the end of one segment and the
start of the next. The tree is a prefix tree of the right context, up to `DEPTH` words and
never past a sentence's end, chains of one branch joined into one ("is the best"), branches
by count; each occurrence keeps its left context, the words as said and the second they were
said (the word's own time where the transcript has word timings).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from podgrep.domain import Episode, Segment
from podgrep.errors import PodgrepError
from podgrep.store import Store
from podgrep.store.base import hidden
from podgrep.words import fold, stem, tokens

DEPTH = 4  # words of right context the tree branches on
CONTEXT = 10  # words of context shown on each side
MAX_OCCURRENCES = 1000
WEB_TRANSCRIPTS = 300  # the most transcripts one web request reads (`/api/context`, `/context`)
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # as words.tokens splits
_SENTENCE_END = re.compile(r"[.!?…]")


@dataclass(frozen=True)
class _Token:
    folded: str
    stem: str
    seg: int  # index into the transcript's shown segments
    begin: int  # character span in the segment's text
    end: int
    start: float  # seconds


@dataclass
class Occurrence:
    """One time the words were said, in context."""

    episode_id: int
    episode: str
    start: float
    left: str
    match: str
    right: str

    @property
    def link(self) -> str:
        """The episode page, at the second (`#t=`, as the episode page seeks)."""
        return f"/episodes/{self.episode_id}#t={self.start:.2f}"

    def as_dict(self) -> dict[str, Any]:
        """For JSON."""
        return {
            "episode_id": self.episode_id,
            "episode": self.episode,
            "start": round(self.start, 2),
            "left": self.left,
            "match": self.match,
            "right": self.right,
            "url": self.link,
        }


@dataclass
class Branch:
    """The occurrences whose next words begin with `words` (after the branches above)."""

    words: str
    count: int = 0
    branches: list[Branch] = field(default_factory=list)
    occurrences: list[Occurrence] = field(default_factory=list)  # those that end here

    def as_dict(self) -> dict[str, Any]:
        """For JSON."""
        return {
            "words": self.words,
            "count": self.count,
            "branches": [b.as_dict() for b in self.branches],
            "occurrences": [o.as_dict() for o in self.occurrences],
        }


@dataclass
class WordTree:
    """Where a word or phrase was said, as a tree of what follows it."""

    query: str
    match: str  # the form said most
    count: int
    episodes: int
    root: Branch
    truncated: bool = False  # more than MAX_OCCURRENCES, or transcripts left unread (web)

    def as_dict(self) -> dict[str, Any]:
        """For JSON."""
        return {
            "query": self.query,
            "match": self.match,
            "count": self.count,
            "episodes": self.episodes,
            "truncated": self.truncated,
            "tree": self.root.as_dict(),
        }


def query_stems(query: str) -> list[str]:
    """The stems a query matches, in order; PodgrepError for a query with no word."""
    found = [stem(t) for t in tokens(query)]
    if not found:
        raise PodgrepError("Give a word or phrase to look for, e.g. podgrep context 'open source'")
    return found


def _times(seg: Segment, spans: list[tuple[int, int]]) -> list[float]:
    """When each token of the segment was said: from the word timings where they line up with
    the text, else spread over the segment by position."""
    timed: list[float] = []
    for w in seg.words:
        timed.extend(w.start for _ in _TOKEN.finditer(w.word))
    if len(timed) == len(spans):
        return timed
    length = max(len(seg.text), 1)
    span = max(seg.end - seg.start, 0.0)
    return [seg.start + span * begin / length for begin, _ in spans]


def _tokens(segments: list[Segment]) -> list[_Token]:
    out: list[_Token] = []
    for n, seg in enumerate(segments):
        spans = [m.span() for m in _TOKEN.finditer(seg.text)]
        for (begin, end), at in zip(spans, _times(seg, spans), strict=True):
            word = fold(seg.text[begin:end])
            out.append(_Token(word, stem(word), n, begin, end, at))
    return out


def _text(segments: list[Segment], toks: list[_Token]) -> str:
    """The text said from the first token to the last, punctuation kept: a segment left
    before the last token keeps its end ("Assistant."), one entered after the first token
    its start; segments are joined by a space."""
    if not toks:
        return ""
    parts: list[str] = []
    first = toks[0]
    begin = first.begin
    last = first
    for t in toks[1:]:
        if t.seg != last.seg:
            parts.append(segments[last.seg].text[begin:].strip())
            begin = 0
        last = t
    parts.append(segments[last.seg].text[begin : last.end].strip())
    return " ".join(p for p in parts if p)


def _between(segments: list[Segment], a: _Token, b: _Token) -> str:
    """What stands between two neighbouring tokens (a segment's end counts as a space)."""
    if a.seg != b.seg:
        gap = segments[a.seg].text[a.end :].rstrip() + " " + segments[b.seg].text[: b.begin]
        return gap.lstrip() if not gap.strip() else gap
    return segments[a.seg].text[a.end : b.begin]


def occurrences(
    segments: list[Segment], stems: list[str], episode: Episode
) -> Iterator[tuple[Occurrence, list[str]]]:
    """Each time `stems` are said in a row in `segments` (those shown), with the words that
    follow it up to a sentence's end (the tree's keys)."""
    toks = _tokens(segments)
    k = len(stems)
    for i in range(len(toks) - k + 1):
        if any(toks[i + j].stem != stems[j] for j in range(k)):
            continue
        end = i + k
        before = toks[max(0, i - CONTEXT) : i]
        after = toks[end : end + CONTEXT]
        # the left context ends with what separates it from the match, the right begins with
        # what follows the match: left + match + right reads as said
        left = _text(segments, before) + (_between(segments, before[-1], toks[i]) if before else "")
        said = _text(segments, toks[i:end])
        if after:
            right = _between(segments, toks[end - 1], after[0]) + _text(segments, after)
        else:
            right = segments[toks[end - 1].seg].text[toks[end - 1].end :].rstrip()
        keys: list[str] = []
        prev = toks[end - 1]
        for t in after[:DEPTH]:
            if _SENTENCE_END.search(_between(segments, prev, t)):
                break
            keys.append(t.folded)
            prev = t
        yield (
            Occurrence(episode.id or 0, episode.title, toks[i].start, left.lstrip(), said, right),
            keys,
        )


def _shown(segments: Iterable[Segment]) -> list[Segment]:
    return [s for s in segments if not hidden(",".join(s.flags)) and s.text.strip()]


def build_tree(query: str, found: list[tuple[Occurrence, list[str]]]) -> WordTree:
    """The prefix tree of the right contexts of `found`, one-branch chains joined."""
    root = Branch("")
    forms: Counter[str] = Counter()
    for occ, keys in found:
        forms[occ.match.lower()] += 1
        node = root
        node.count += 1
        for word in keys:
            child = next((b for b in node.branches if b.words == word), None)
            if child is None:
                child = Branch(word)
                node.branches.append(child)
            child.count += 1
            node = child
        node.occurrences.append(occ)
    _tidy(root)
    episodes = len({o.episode_id for o, _ in found})
    match = forms.most_common(1)[0][0] if forms else query
    return WordTree(query, match, len(found), episodes, root)


def _tidy(node: Branch) -> None:
    """Join one-branch chains, order branches by count (then words) and occurrences by time."""
    for child in node.branches:
        while not child.occurrences and len(child.branches) == 1:
            only = child.branches[0]
            child.words = f"{child.words} {only.words}"
            child.branches = only.branches
            child.occurrences = only.occurrences
        _tidy(child)
    node.branches.sort(key=lambda b: (-b.count, b.words))
    node.occurrences.sort(key=lambda o: (o.episode_id, o.start))


def word_tree(
    store: Store,
    query: str,
    *,
    show_id: int | None = None,
    episode_id: int | None = None,
    max_transcripts: int | None = None,
) -> WordTree:
    """The word tree of `query` across one episode, one show's episodes or the library, the
    oldest episodes first; it stops (`truncated`) at `MAX_OCCURRENCES` occurrences or, when
    given, after reading `max_transcripts` transcripts with more left to read."""
    stems = query_stems(query)
    if episode_id is not None:
        episodes = [store.get_episode(episode_id)]
    else:
        episodes = store.list_episodes(show_id)
    found: list[tuple[Occurrence, list[str]]] = []
    truncated = False
    read = 0
    for ep in sorted(episodes, key=lambda e: e.id or 0):
        if max_transcripts is not None and read == max_transcripts:
            truncated = store.transcript_for(ep.id or 0) is not None  # more to read
            if truncated:
                break
            continue
        transcript = store.transcript_for(ep.id or 0)
        if transcript is None:
            continue
        read += 1
        for hit in occurrences(_shown(transcript.segments), stems, ep):
            if len(found) == MAX_OCCURRENCES:
                truncated = True
                break
            found.append(hit)
        if truncated:
            break
    tree = build_tree(query, found)
    tree.truncated = truncated
    return tree


def render_text(tree: WordTree, clock: Any) -> Iterator[str]:
    """The tree as indented lines for a terminal: branches with counts, then each occurrence
    with its time, episode id and context."""
    yield (
        f"{tree.match!r}: {tree.count} time{'s' if tree.count != 1 else ''}"
        f" in {tree.episodes} episode{'s' if tree.episodes != 1 else ''}"
        + (f" (the first {MAX_OCCURRENCES})" if tree.truncated else "")
    )

    def walk(node: Branch, depth: int) -> Iterator[str]:
        pad = "  " * depth
        for occ in node.occurrences:
            yield (
                f"{pad}{clock(occ.start):>8}  #{occ.episode_id}  …{occ.left}[{occ.match}]"
                f"{occ.right}…"
            )
        for child in node.branches:
            yield f"{pad}→ {child.words}  ({child.count})"
            yield from walk(child, depth + 1)

    yield from walk(tree.root, 1)
