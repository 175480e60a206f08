"""`podgrep publish DIR`: the library as a static website that needs no server.

Layout (every name made of ids, so nothing from a feed ever becomes a path):

    index.html                     the shows, and client-side search over every transcript
    search/meta.js, w/N.js, s/N.js the prebuilt search index in shards (`search_files`): the
                                   episodes; folded word → segment ids, by the words' first
                                   two letters; the segments' text, 1000 a shard
    assets/site.css, player.js, search.js
    shows/<id>/index.html          a show's episodes
    shows/<id>/feed.xml            the republished feed (feed shows, with --base-url only)
    episodes/<id>/index.html       player on the enclosure, chapters, speakers, the transcript
    episodes/<id>/transcript.json  Podcasting 2.0 transcript JSON
    episodes/<id>/transcript.vtt   WebVTT captions
    episodes/<id>/chapters.json    Podcasting 2.0 chapters JSON (none stored: one, the whole
                                   episode under its title)

Only episodes whose transcript is complete are published. Pages carry a strict
Content-Security-Policy (scripts and styles only from the site, no inline script), every text
from a feed or a transcript is escaped by the templates' autoescaping, and the player and links
use only http(s) addresses. Nothing written depends on when it is written, so a re-run leaves
every unchanged file alone (`manifest.write_site`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from urllib.parse import urljoin

from jinja2 import Environment, PackageLoader, select_autoescape

from podgrep.domain import Chapter, Episode, Person, Show, Speaker, Transcript
from podgrep.errors import InvalidInput
from podgrep.formats import render
from podgrep.formats.chapters_json import write_chapters_json
from podgrep.formats.text import timestamp
from podgrep.publish.manifest import WriteReport, write_site
from podgrep.publish.original import republish
from podgrep.publish.rss import PublishedItem, feed_xml, is_web
from podgrep.sources.url import YTDLP_TYPE
from podgrep.store import Store

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
    " media-src http: https:; connect-src 'none'; base-uri 'none'; form-action 'self'"
)
ASSETS = ("site.css", "player.js", "search.js", "favicon.svg")


@dataclass
class EpisodePage:
    """What one episode's page and files are made from."""

    show: Show
    episode: Episode
    transcript: Transcript  # without its segments (site_files reads them when it writes)
    chapters: list[Chapter]
    speakers: list[Speaker]

    @property
    def id(self) -> int:
        return self.episode.id or 0

    @property
    def media(self) -> str | None:
        """The media file a player can play (None: none, or only a page)."""
        return None if self.watch_page else self.episode.media_url

    @property
    def watch_page(self) -> bool:
        """Whether the episode's address is a page yt-dlp read (a video of a channel or
        playlist), which no <audio> plays: linked instead."""
        return self.episode.media_type == YTDLP_TYPE and is_web(self.episode.media_url)

    @property
    def named(self) -> list[Person]:
        """The episode's named speakers as `podcast:person` entries (feed roles kept)."""
        roles = {p.name.casefold(): p for p in [*self.show.persons, *self.episode.persons]}
        out: dict[str, Person] = {}
        for s in self.speakers:
            if not s.name:
                continue
            known = roles.get(s.name.casefold())
            role = s.role or (known.role if known else "guest")
            out.setdefault(
                s.name.casefold(),
                Person(s.name, role, known.group if known else "cast",
                       known.img if known else None, known.href if known else None),
            )  # fmt: skip
        return list(out.values())


@dataclass
class PublishReport:
    """What `publish` did: the write report, counts, and notes for the user."""

    files: WriteReport
    shows: int = 0
    episodes: int = 0
    feeds: int = 0
    notes: list[str] = field(default_factory=list)


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("podgrep.publish", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = timestamp
    env.filters["day"] = lambda ts: (
        datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d") if ts is not None else ""
    )
    env.filters["web"] = lambda url: url if is_web(url) else None
    env.filters["sec"] = _sec
    return env


def _sec(seconds: float) -> str:
    """A second for `#t=` links: at most two decimals, no trailing zeros."""
    text = f"{max(0.0, float(seconds)):.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _base(url: str | None) -> str | None:
    if url is None:
        return None
    if not is_web(url):
        raise InvalidInput(
            f"--base-url {url!r} is not an http(s) address: give where DIR is served"
        )
    return url if url.endswith("/") else url + "/"


def collect(
    store: Store, shows: list[Show]
) -> tuple[dict[int, list[Episode]], list[EpisodePage], list[str]]:
    """Every episode of the shows, the pages of those whose transcript is complete; notes."""
    pages: list[EpisodePage] = []
    notes: list[str] = []
    every: dict[int, list[Episode]] = {}
    for show in shows:
        assert show.id is not None
        skipped = 0
        every[show.id] = store.list_episodes(show.id)
        for ep in every[show.id]:
            assert ep.id is not None
            transcript = store.transcript_for(ep.id)
            if transcript is None or not transcript.complete:
                skipped += 1
                continue
            chapters = store.chapter_rows(ep.id)
            head = replace(transcript, segments=[])  # the segments are read again when written
            pages.append(EpisodePage(show, ep, head, chapters, store.list_speakers(ep.id)))
        if skipped:
            notes.append(
                f"{show.title}: {skipped} episode(s) without a finished transcript left out"
            )
    return every, pages, notes


def site_files(
    store: Store,
    shows: list[Show],
    every: dict[int, list[Episode]],
    pages: list[EpisodePage],
    base_url: str | None,
    report: PublishReport,
) -> Iterator[tuple[str, bytes]]:
    """Every file of the site (relative path, bytes), one at a time: a transcript is read
    from the store when its episode's files are made, so the site is never all in memory.
    A show's feed.xml is its original feed (the raw bytes the store kept) with the tags added
    (`original.republish`), else rebuilt from the metadata with a line in `report.notes`;
    `report.feeds` counts them."""
    env = _env()
    by_show: dict[int, list[EpisodePage]] = {}
    for p in pages:
        by_show.setdefault(p.show.id or 0, []).append(p)
    for group in by_show.values():
        group.sort(key=lambda p: (-(p.episode.published or 0), p.id))

    def html(name: str, **ctx: object) -> bytes:
        return env.get_template(name).render(csp=CSP, **ctx).encode("utf-8")

    for asset in ASSETS:
        yield (
            f"assets/{asset}",
            resources.files("podgrep.publish").joinpath("static", asset).read_bytes(),
        )
    listed = [(s, by_show.get(s.id or 0, [])) for s in shows]
    yield "index.html", html("index.html", root="", shows=listed)
    for show, group in listed:
        has_feed = show.kind == "feed" and base_url is not None
        yield (
            f"shows/{show.id}/index.html",
            html("show.html", root="../../", show=show, pages=group, has_feed=has_feed),
        )
        if has_feed:
            assert base_url is not None
            yield f"shows/{show.id}/feed.xml", _feed(store, show, every, group, base_url, report)
            report.feeds += 1
    index = SearchIndex()
    for n, p in enumerate(pages):
        transcript = store.transcript_for(p.id) or p.transcript
        yield from index.add(n, p, transcript)
        segments = [s for s in transcript.segments if "hallucination" not in s.flags]
        d = f"episodes/{p.id}/"
        yield (
            d + "transcript.json",
            render("podcast-json", transcript, title=p.episode.title, show=p.show.title).encode(
                "utf-8"
            ),
        )
        yield d + "transcript.vtt", render("vtt", transcript).encode("utf-8")
        # an episode without chapters gets one: the whole episode under its title, so every
        # published item links a chapters file apps can show
        whole = [Chapter(0.0, p.episode.title, source="generated")]
        yield (
            d + "chapters.json",
            write_chapters_json(
                p.chapters or whole,
                title=p.episode.title,
                podcast=p.show.title,
                author=p.show.author,
            ).encode("utf-8"),
        )
        yield (
            d + "index.html",
            html(
                "episode.html",
                root="../../",
                page=p,
                show=p.show,
                ep=p.episode,
                segments=segments,
                chapters=[c for c in sorted(p.chapters, key=lambda c: c.start) if c.toc],
                speakers=p.speakers,
                media=p.media if is_web(p.media) else None,
                # a channel's or playlist's entry (yt-dlp's page, not a media file): linked
                watch=p.episode.media_url if p.watch_page else None,
            ),
        )
    yield from index.finish()


def _feed(
    store: Store,
    show: Show,
    every: dict[int, list[Episode]],
    group: list[EpisodePage],
    base_url: str,
    report: PublishReport,
) -> bytes:
    items = _feed_items(every.get(show.id or 0, []), group, base_url)
    raw = store.feed_xml(show.id or 0)
    kept = republish(raw, items) if raw is not None else None
    if kept is not None:
        return kept
    why = (
        "no copy of the feed kept yet: sync it to republish the original"
        if raw is None
        else "the feed is not RSS podgrep republishes as it is"
    )
    report.notes.append(f"{show.title}: feed.xml rebuilt from the stored metadata ({why})")
    self_url = urljoin(base_url, f"shows/{show.id}/feed.xml")
    site = urljoin(base_url, f"shows/{show.id}/index.html")
    return feed_xml(show, items, self_url, site).encode()


def _feed_items(
    episodes: list[Episode], group: list[EpisodePage], base_url: str
) -> list[PublishedItem]:
    """Every stored episode of the show is in the feed; the published ones gain the tags."""
    published = {p.id: p for p in group}
    items = []
    for ep in episodes:
        p = published.get(ep.id or 0)
        if p is None:
            items.append(PublishedItem(ep))
            continue
        d = urljoin(base_url, f"episodes/{p.id}/")
        items.append(
            PublishedItem(
                p.episode,
                transcript_json=d + "transcript.json",
                vtt=d + "transcript.vtt",
                chapters=d + "chapters.json",
                language=p.transcript.language,
                people=tuple(p.named),
            )
        )
    return items


SEGMENTS_PER_SHARD = 1000  # segments per `search/s/N.js`
_WORD = re.compile(r"[^\W_]+")  # a run of letters and digits, as search.js splits a query


def fold(text: str) -> str:
    """As search.js folds: NFD, combining accents dropped, lower case."""
    return "".join(
        c for c in unicodedata.normalize("NFD", text) if not "\u0300" <= c <= "\u036f"
    ).lower()


def _script(name: str, data: object) -> bytes:
    """A shard as a script that hands its data to search.js (`podgrepShard`), so it loads
    from file:// too. ASCII-only JSON: no character of a transcript can end the literal."""
    doc = json.dumps(data, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    return f"podgrepShard({json.dumps(name)},{doc});\n".encode("ascii")


class SearchIndex:
    """The prebuilt search index, in shards search.js fetches as a query needs them:

    - `search/meta.js`: `e` the episodes ([page, title, show]), `w` the word shards (the
      first two letters of their words → shard number), `n` segments per text shard;
    - `search/w/N.js`: folded word → the ids of the segments that say it (ascending);
    - `search/s/N.js`: segments `n`·N … as [episode, start, speaker, text].

    `add` yields the text shards as the segments go by; only the word postings are held
    until `finish` yields the word shards and the meta."""

    def __init__(self) -> None:
        self.episodes: list[list[object]] = []
        self.postings: dict[str, list[int]] = {}
        self.chunk: list[list[object]] = []
        self.count = 0

    def add(self, n: int, page: EpisodePage, transcript: Transcript) -> Iterator[tuple[str, bytes]]:
        self.episodes.append(
            [f"episodes/{page.id}/index.html", page.episode.title, page.show.title]
        )
        for s in transcript.segments:
            text = s.text.strip()
            if "hallucination" in s.flags or not text:
                continue
            self.chunk.append([n, round(s.start, 2), s.speaker or "", text])
            for word in set(_WORD.findall(fold(text))):
                self.postings.setdefault(word, []).append(self.count)
            self.count += 1
            if len(self.chunk) == SEGMENTS_PER_SHARD:
                yield self._text()

    def _text(self) -> tuple[str, bytes]:
        number = (self.count - 1) // SEGMENTS_PER_SHARD
        chunk, self.chunk = self.chunk, []
        return f"search/s/{number}.js", _script("s", chunk)

    def finish(self) -> Iterator[tuple[str, bytes]]:
        if self.chunk:
            yield self._text()
        shards: dict[str, dict[str, list[int]]] = {}
        for word, ids in self.postings.items():
            shards.setdefault(word[:2], {})[word] = ids
        numbers = {key: i for i, key in enumerate(sorted(shards))}
        for key, i in numbers.items():
            yield f"search/w/{i}.js", _script("w", shards[key])
        meta = {"e": self.episodes, "w": numbers, "n": SEGMENTS_PER_SHARD}
        yield "search/meta.js", _script("meta", meta)


def publish(
    store: Store, shows: list[Show], folder: Path, *, base_url: str | None = None
) -> PublishReport:
    """Write (or bring up to date) the site of `shows` in `folder`."""
    base = _base(base_url)
    every, pages, notes = collect(store, shows)
    report = PublishReport(WriteReport(), len(shows), len(pages), 0, notes)
    report.files = write_site(folder, site_files(store, shows, every, pages, base, report))
    if base is None and any(s.kind == "feed" for s in shows):
        notes.append(
            "feed.xml not written: RSS needs absolute links, give --base-url (where DIR is served)"
        )
    return report
