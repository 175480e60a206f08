"""`podgrep publish DIR`: the library as a static website that needs no server.

Layout (every name made of ids, so nothing from a feed ever becomes a path):

    index.html                     the shows, and client-side search over every transcript
    search-index.js                the prebuilt search index (`podgrepIndex`: episodes, segments)
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
from dataclasses import dataclass, field
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
from podgrep.publish.rss import PublishedItem, feed_xml, is_web
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
    transcript: Transcript
    chapters: list[Chapter]
    speakers: list[Speaker]

    @property
    def id(self) -> int:
        return self.episode.id or 0

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
            pages.append(EpisodePage(show, ep, transcript, chapters, store.list_speakers(ep.id)))
        if skipped:
            notes.append(
                f"{show.title}: {skipped} episode(s) without a finished transcript left out"
            )
    return every, pages, notes


def build_files(
    shows: list[Show],
    every: dict[int, list[Episode]],
    pages: list[EpisodePage],
    base_url: str | None,
) -> tuple[dict[str, bytes], int]:
    """Every file of the site (relative path → bytes), and how many feeds are among them."""
    env = _env()
    files: dict[str, bytes] = {}
    by_show: dict[int, list[EpisodePage]] = {}
    for p in pages:
        by_show.setdefault(p.show.id or 0, []).append(p)
    for group in by_show.values():
        group.sort(key=lambda p: (-(p.episode.published or 0), p.id))

    def html(name: str, **ctx: object) -> bytes:
        return env.get_template(name).render(csp=CSP, **ctx).encode("utf-8")

    for asset in ASSETS:
        files[f"assets/{asset}"] = (
            resources.files("podgrep.publish").joinpath("static", asset).read_bytes()
        )
    listed = [(s, by_show.get(s.id or 0, [])) for s in shows]
    files["index.html"] = html("index.html", root="", shows=listed)
    files["search-index.js"] = _search_index(pages)
    feeds = 0
    for show, group in listed:
        has_feed = show.kind == "feed" and base_url is not None
        files[f"shows/{show.id}/index.html"] = html(
            "show.html", root="../../", show=show, pages=group, has_feed=has_feed
        )
        if has_feed:
            assert base_url is not None
            items = _feed_items(every.get(show.id or 0, []), group, base_url)
            self_url = urljoin(base_url, f"shows/{show.id}/feed.xml")
            site = urljoin(base_url, f"shows/{show.id}/index.html")
            files[f"shows/{show.id}/feed.xml"] = feed_xml(show, items, self_url, site).encode()
            feeds += 1
    for p in pages:
        segments = [s for s in p.transcript.segments if "hallucination" not in s.flags]
        d = f"episodes/{p.id}/"
        files[d + "transcript.json"] = render(
            "podcast-json", p.transcript, title=p.episode.title, show=p.show.title
        ).encode("utf-8")
        files[d + "transcript.vtt"] = render("vtt", p.transcript).encode("utf-8")
        # an episode without chapters gets one: the whole episode under its title, so every
        # published item links a chapters file apps can show
        whole = [Chapter(0.0, p.episode.title, source="generated")]
        files[d + "chapters.json"] = write_chapters_json(
            p.chapters or whole, title=p.episode.title, podcast=p.show.title, author=p.show.author
        ).encode("utf-8")
        files[d + "index.html"] = html(
            "episode.html",
            root="../../",
            page=p,
            show=p.show,
            ep=p.episode,
            segments=segments,
            chapters=[c for c in sorted(p.chapters, key=lambda c: c.start) if c.toc],
            speakers=p.speakers,
            media=p.episode.media_url if is_web(p.episode.media_url) else None,
        )
    return files, feeds


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


def _search_index(pages: list[EpisodePage]) -> bytes:
    """`podgrepIndex`: `e` the episodes ([page, title, show]), `s` the segments
    ([episode, start, speaker, text]), loaded by `search.js` as a script (works from file://
    too). ASCII-only JSON, so no character of a transcript can end the literal."""
    episodes = []
    segments: list[list[object]] = []
    for n, p in enumerate(pages):
        episodes.append([f"episodes/{p.id}/index.html", p.episode.title, p.show.title])
        for s in p.transcript.segments:
            if "hallucination" in s.flags or not s.text.strip():
                continue
            segments.append([n, round(s.start, 2), s.speaker or "", s.text.strip()])
    doc = json.dumps({"e": episodes, "s": segments}, ensure_ascii=True, separators=(",", ":"))
    return f"window.podgrepIndex = {doc};\n".encode("ascii")


def publish(
    store: Store, shows: list[Show], folder: Path, *, base_url: str | None = None
) -> PublishReport:
    """Write (or bring up to date) the site of `shows` in `folder`."""
    base = _base(base_url)
    every, pages, notes = collect(store, shows)
    files, feeds = build_files(shows, every, pages, base)
    if base is None and any(s.kind == "feed" for s in shows):
        notes.append(
            "feed.xml not written: RSS needs absolute links, give --base-url (where DIR is served)"
        )
    report = PublishReport(write_site(folder, files), len(shows), len(pages), feeds, notes)
    return report
