"""Search for the web: the CLI's search (keyword, semantic or hybrid) plus show and date
filters, context and grouping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from markupsafe import Markup, escape

from podgrep.domain import Episode, Hit
from podgrep.errors import QueryError
from podgrep.semantic.hybrid import MODES
from podgrep.store import Store

SCAN_LIMIT = 1000  # hits read when filters apply that the index cannot (exact show, dates)
CONTEXT_WORDS = 14


@dataclass
class Filters:
    """Where to look: one show (id or part of a title) and a range of publication dates."""

    show: str | None = None
    since: date | None = None
    until: date | None = None


@dataclass
class HitView:
    """A hit with what the page and the API show around it."""

    hit: Hit
    episode: Episode
    before: str | None = None
    after: str | None = None

    @property
    def marked(self) -> Markup:
        """The hit's text, escaped, with the matched words in <mark>."""
        return highlight(self.hit.text, self.hit.marks)


@dataclass
class EpisodeGroup:
    """The hits of one episode, in rank order, under its title."""

    episode: Episode
    show: str
    hits: list[HitView] = field(default_factory=list)


def parse_day(value: str | None, name: str) -> date | None:
    """A YYYY-MM-DD query value as a date (None when empty); QueryError when malformed."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{name}={value!r} is not a date: use YYYY-MM-DD") from None


def highlight(text: str, marks: list[tuple[int, int]]) -> Markup:
    """Escape `text` and wrap the character spans `marks` in <mark>."""
    out, pos = [], 0
    for a, b in sorted(marks):
        if a < pos:
            continue
        out.append(escape(text[pos:a]))
        out.append(Markup("<mark>") + escape(text[a:b]) + Markup("</mark>"))
        pos = b
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def _tail(text: str | None, n: int) -> str | None:
    if not text:
        return None
    words = text.split()
    return ("… " if len(words) > n else "") + " ".join(words[-n:])


def _head(text: str | None, n: int) -> str | None:
    if not text:
        return None
    words = text.split()
    return " ".join(words[:n]) + (" …" if len(words) > n else "")


def _day_bounds(filters: Filters) -> tuple[float | None, float | None]:
    lo = hi = None
    if filters.since:
        lo = datetime.combine(filters.since, time.min, UTC).timestamp()
    if filters.until:
        hi = datetime.combine(filters.until, time.max, UTC).timestamp()
    return lo, hi


def check_mode(mode: str | None) -> str | None:
    """`mode` as given (None or empty: the library's default); QueryError when unknown."""
    if mode and mode not in MODES:
        raise QueryError(f"mode={mode!r} is not a search mode: use keyword, semantic or hybrid")
    return mode or None


def default_mode(store: Store) -> str:
    """The mode a search without one runs: hybrid once passages have vectors, else keyword."""
    from podgrep.semantic.hybrid import default_mode as library_default

    return library_default(store)


def find(
    store: Store,
    query: str,
    filters: Filters,
    *,
    limit: int,
    offset: int,
    mode: str | None = None,
) -> tuple[list[HitView], bool]:
    """One page of hits with context, and whether more follow. `mode` is keyword, semantic
    or hybrid (None: the CLI's default, hybrid once passages have vectors)."""
    from podgrep.semantic.hybrid import find as search_mode

    mode = check_mode(mode)
    if not query.strip():
        raise QueryError("Nothing to search for: give at least one word")

    def search(
        store: Store, query: str, *, limit: int, offset: int = 0, show: str | None
    ) -> list[Hit]:
        return search_mode(store, query, mode=mode, limit=limit, offset=offset, show=show)

    show_id: int | None = None
    narrow = filters.show
    if filters.show and filters.show.isascii() and filters.show.isdigit():
        known = {s.id: s for s in store.list_shows()}
        if int(filters.show) in known:
            show_id = int(filters.show)
            narrow = known[show_id].title
    lo, hi = _day_bounds(filters)
    episodes: dict[int, Episode] = {}

    def episode(eid: int) -> Episode:
        if eid not in episodes:
            episodes[eid] = store.get_episode(eid)
        return episodes[eid]

    if show_id is None and lo is None and hi is None:
        hits = search(store, query, limit=limit + 1, offset=offset, show=narrow)
    else:
        hits = []
        for hit in search(store, query, limit=SCAN_LIMIT, show=narrow):
            ep = episode(hit.episode_id)
            if show_id is not None and ep.show_id != show_id:
                continue
            if (lo is not None or hi is not None) and ep.published is None:
                continue
            if lo is not None and ep.published is not None and ep.published < lo:
                continue
            if hi is not None and ep.published is not None and ep.published > hi:
                continue
            hits.append(hit)
        hits = hits[offset : offset + limit + 1]
    more = len(hits) > limit
    hits = hits[:limit]
    context = store.segment_context([h.segment_id for h in hits])
    views = []
    for h in hits:
        before, after = context.get(h.segment_id, (None, None))
        if after and " ".join(after.split()[:CONTEXT_WORDS]) in " ".join(h.text.split()):
            after = None  # a passage hit already holds the segments after its first
        views.append(
            HitView(
                h, episode(h.episode_id), _tail(before, CONTEXT_WORDS), _head(after, CONTEXT_WORDS)
            )
        )
    return views, more


def group(views: list[HitView]) -> list[EpisodeGroup]:
    """Hits grouped by episode, episodes in the order of their best hit."""
    groups: dict[int, EpisodeGroup] = {}
    for v in views:
        g = groups.get(v.hit.episode_id)
        if g is None:
            g = groups[v.hit.episode_id] = EpisodeGroup(v.episode, v.hit.show)
        g.hits.append(v)
    return list(groups.values())
