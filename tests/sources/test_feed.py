"""Tests for podcast feeds: RSS/Atom parsing, Podcasting 2.0 tags, conditional GET and errors."""

from __future__ import annotations

import calendar
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from podgrep.domain import Person, TranscriptRef
from podgrep.errors import FeedError
from podgrep.sources.feed import (
    _parse_duration,
    fetch_feed,
    looks_like_feed,
    parse_feed,
)
from tests.support.server import LocalServer, Route

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"
     xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:podcast="https://podcastindex.org/namespace/1.0"
     xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>Deep Grep Radio</title>
    <link>https://deepgrep.example/</link>
    <atom:link href="https://deepgrep.example/feed.xml" rel="self" type="application/rss+xml"/>
    <description>Two people talk about searching audio.</description>
    <itunes:subtitle>Search talk</itunes:subtitle>
    <language>en-us</language>
    <itunes:author>Ada Host</itunes:author>
    <itunes:owner>
      <itunes:name>Owner Corp</itunes:name>
      <itunes:email>owner@deepgrep.example</itunes:email>
    </itunes:owner>
    <image>
      <url>https://deepgrep.example/rss-logo.png</url>
      <title>Deep Grep Radio</title>
      <link>https://deepgrep.example/</link>
    </image>
    <itunes:image href="https://deepgrep.example/cover.jpg"/>
    <podcast:person img="https://deepgrep.example/ada.jpg"
                    href="https://ada.example/">Ada Host</podcast:person>
    <podcast:person role="Producer" group="Crew">Pat Producer</podcast:person>
    <item>
      <title>Episode 3: Timestamps</title>
      <guid isPermaLink="false">deepgrep-3</guid>
      <pubDate>Tue, 02 Jan 2024 10:00:00 +0100</pubDate>
      <itunes:duration>1:02:03.5</itunes:duration>
      <enclosure url="media/ep3.mp3" length="12345" type="audio/mpeg"/>
      <link>https://deepgrep.example/3</link>
      <description>Plain summary of three.</description>
      <content:encoded><![CDATA[<p>We talk <a href="/notes/3">timestamps</a>.</p>
<script>x()</script>]]></content:encoded>
      <itunes:image href="images/ep3.jpg"/>
      <podcast:transcript url="transcripts/ep3.srt" type="application/x-subrip" language="es"/>
      <podcast:chapters url="chapters/ep3.json" type="application/json+chapters"/>
      <podcast:person role="Guest" href="https://bob.example/">Bob Guest</podcast:person>
    </item>
    <item>
      <title>Episode 2: Enclosures</title>
      <pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate>
      <itunes:duration>62:03</itunes:duration>
      <enclosure url="https://cdn.deepgrep.example/ep2.jpg" length="10" type="image/jpeg"/>
      <enclosure url="https://cdn.deepgrep.example/ep2.mp4" length="0" type="video/mp4"/>
      <link>https://deepgrep.example/2</link>
      <description>Summary only.</description>
    </item>
    <item>
      <title>Episode 1: Hello</title>
      <guid>1234</guid>
      <pubDate>Sun, 31 Dec 2023 23:30:00 -0500</pubDate>
      <itunes:duration>3723</itunes:duration>
      <enclosure url="https://cdn.deepgrep.example/ep1.m4a" type="audio/x-m4a"/>
      <podcast:transcript url="https://cdn.deepgrep.example/ep1.json"
                          type="application/json" rel="captions"/>
    </item>
  </channel>
</rss>
"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de">
  <title>Atom Cast</title>
  <subtitle>Ein Podcast</subtitle>
  <link rel="alternate" href="https://atom.example/"/>
  <link rel="self" href="https://atom.example/atom.xml"/>
  <id>urn:uuid:feed</id>
  <updated>2024-02-03T04:05:06Z</updated>
  <author><name>Alma Atom</name></author>
  <logo>logo.png</logo>
  <entry>
    <id>urn:uuid:e2</id>
    <title>Zweite Folge</title>
    <updated>2024-02-03T04:05:06Z</updated>
    <link rel="alternate" href="https://atom.example/2"/>
    <link rel="enclosure" href="audio/e2.ogg" type="audio/ogg" length="99"/>
    <summary>kurz</summary>
    <content type="html">&lt;p&gt;lang&lt;/p&gt;</content>
  </entry>
  <entry>
    <id>urn:uuid:e1</id>
    <title>Erste Folge</title>
    <published>2024-01-01T12:00:00+02:00</published>
    <updated>2024-01-05T00:00:00Z</updated>
    <link rel="enclosure" href="https://atom.example/e1.mp3" type="audio/mpeg"/>
  </entry>
</feed>
"""

# Well-formed apart from one typo: feedparser's lenient parser gets no usable entry out of it.
MALFORMED = b"""<?xml version="1.0"?>
<rss version="2.0">
<channel>
<title>Broken</title>
<item>
<title>One</titel>
</item>
</channel>
</rss>
"""

# Declared UTF-8 but written in Latin-1, with an HTML entity XML does not know: bozo, yet usable.
SLOPPY = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">'
    "<channel><title>Caf\xe9&nbsp;Talk</title><language>fr</language>"
    "<item><title>\xc9pisode&nbsp;1</title><guid>cafe-1</guid>"
    '<enclosure url="https://cafe.example/1.mp3" type="audio/mpeg" length="5"/>'
    '<podcast:transcript url="https://cafe.example/1.vtt" type="text/vtt"/>'
    '<podcast:transcript url="https://cafe.example/1.srt" type="application/srt"/>'
    "</item></channel></rss>"
).encode("latin-1")

HTML_PAGE = b"""<!DOCTYPE html>
<html><head><title>Deep Grep Radio</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="Podcast" href="/podcast/feed.rss">
</head><body><h1>Deep Grep Radio</h1></body></html>
"""


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[LocalServer]:
    """A local server with the feeds above as files."""
    (tmp_path / "feed.xml").write_bytes(RSS)
    (tmp_path / "atom.xml").write_bytes(ATOM)
    (tmp_path / "sloppy.xml").write_bytes(SLOPPY)
    with LocalServer(tmp_path) as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A short-timeout HTTP client."""
    with httpx.Client(timeout=5) as c:
        yield c


def _utc(*parts: int) -> float:
    """Unix seconds for a UTC date-time."""
    return float(calendar.timegm((*parts, 0, 0, 0)))


def test_rss_show_fields(srv: LocalServer, client: httpx.Client) -> None:
    """Channel fields come out right, including the ones feedparser conflates."""
    result = fetch_feed(client, srv.url("feed.xml"))
    show = result.show
    assert show is not None and not result.not_modified
    assert show.id is None
    assert show.feed_url == srv.url("feed.xml")
    assert show.title == "Deep Grep Radio"
    assert show.author == "Ada Host"  # not the itunes:owner name
    assert show.description == "Two people talk about searching audio."
    assert show.image == "https://deepgrep.example/cover.jpg"  # itunes:image over <image>
    assert show.language == "en-us"
    assert show.link == "https://deepgrep.example/"
    assert show.persons == [
        Person(
            "Ada Host", "host", "cast", "https://deepgrep.example/ada.jpg", "https://ada.example/"
        ),
        Person("Pat Producer", "producer", "crew"),
    ]
    assert result.etag and result.etag == show.etag
    assert result.last_modified and result.last_modified == show.last_modified


def test_rss_episode_fields(srv: LocalServer, client: httpx.Client) -> None:
    """Every episode field, with relative URLs resolved against the feed's address."""
    episodes = fetch_feed(client, srv.url("feed.xml")).episodes
    assert [e.title for e in episodes] == [
        "Episode 3: Timestamps",
        "Episode 2: Enclosures",
        "Episode 1: Hello",
    ]
    three, two, one = episodes
    assert all(e.id is None and e.show_id is None for e in episodes)

    assert three.guid == "deepgrep-3"
    assert three.published == _utc(2024, 1, 2, 9, 0, 0)
    assert three.duration == 3723.5
    assert three.media_url == srv.url("media/ep3.mp3")
    assert three.media_type == "audio/mpeg"
    assert three.media_length == 12345
    assert three.link == "https://deepgrep.example/3"
    assert three.show_notes_html == (
        '<p>We talk <a href="/notes/3">timestamps</a>.</p>\n<script>x()</script>'
    )
    assert three.image == srv.url("images/ep3.jpg")
    assert three.transcripts == [
        TranscriptRef(srv.url("transcripts/ep3.srt"), "application/x-subrip", "es", None)
    ]
    assert three.chapters_url == srv.url("chapters/ep3.json")
    assert three.persons == [Person("Bob Guest", "guest", "cast", None, "https://bob.example/")]

    # No guid: the audio/video enclosure is preferred over an earlier image one, and its URL
    # stands in for the guid.
    assert two.guid == "https://cdn.deepgrep.example/ep2.mp4"
    assert two.media_url == "https://cdn.deepgrep.example/ep2.mp4"
    assert two.media_type == "video/mp4"
    assert two.media_length is None  # length="0" means unknown
    assert two.published == _utc(2024, 1, 1, 0, 0, 0)
    assert two.duration == 3723.0
    assert two.show_notes_html == "Summary only."
    assert two.transcripts == [] and two.chapters_url is None and two.persons == []
    assert two.image is None

    assert one.guid == "1234"  # a permalink-by-default guid is kept raw, not made a URL
    assert one.link is None
    assert one.published == _utc(2024, 1, 1, 4, 30, 0)
    assert one.duration == 3723.0
    assert one.media_length is None
    assert one.media_type == "audio/x-m4a"
    # No language attribute: the channel's language applies.
    assert one.transcripts == [
        TranscriptRef(
            "https://cdn.deepgrep.example/ep1.json", "application/json", "en-us", "captions"
        )
    ]


def test_atom_feed(srv: LocalServer, client: httpx.Client) -> None:
    """Atom: link rel=enclosure, updated as fallback for published, logo as image."""
    result = fetch_feed(client, srv.url("atom.xml"))
    show = result.show
    assert show is not None
    assert show.title == "Atom Cast"
    assert show.author == "Alma Atom"
    assert show.description == "Ein Podcast"
    assert show.language == "de"
    assert show.link == "https://atom.example/"
    assert show.image == srv.url("logo.png")
    two, one = result.episodes
    assert two.guid == "urn:uuid:e2"
    assert two.title == "Zweite Folge"
    assert two.media_url == srv.url("audio/e2.ogg")
    assert two.media_type == "audio/ogg"
    assert two.media_length == 99
    assert two.link == "https://atom.example/2"
    assert two.published == _utc(2024, 2, 3, 4, 5, 6)
    assert two.show_notes_html == "<p>lang</p>"
    assert one.guid == "urn:uuid:e1"
    assert one.media_url == "https://atom.example/e1.mp3"
    assert one.published == _utc(2024, 1, 1, 10, 0, 0)  # published wins over updated
    assert one.duration is None


def test_bozo_feed_still_accepted(srv: LocalServer, client: httpx.Client) -> None:
    """A wrong encoding declaration and an undeclared entity do not lose the feed or its tags."""
    result = fetch_feed(client, srv.url("sloppy.xml"))
    assert result.show is not None
    assert result.show.title == "Caf\xe9\xa0Talk"
    (episode,) = result.episodes
    assert episode.title == "\xc9pisode\xa01"
    assert episode.guid == "cafe-1"
    assert [(t.url, t.type, t.language) for t in episode.transcripts] == [
        ("https://cafe.example/1.vtt", "text/vtt", "fr"),
        ("https://cafe.example/1.srt", "application/srt", "fr"),
    ]


def test_unreadable_for_elementtree_falls_back_to_feedparser() -> None:
    """An unclosed tag defeats ElementTree; feedparser's partial podcast:* data is still used."""
    rss = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">
  <channel>
    <title>Unclosed</title>
    <item>
      <title>One</title>
      <guid>one</guid>
      <enclosure url="a.mp3" type="audio/mpeg">
      <podcast:transcript url="t1.srt" type="application/srt"/>
      <podcast:transcript url="t2.vtt" type="text/vtt" language="de"/>
      <podcast:chapters url="c.json" type="application/json+chapters"/>
    </item>
  </channel>
</rss>
"""
    show, (episode,) = parse_feed(rss, "https://x.example/f/feed")
    assert show.title == "Unclosed"
    assert episode.guid == "one"
    assert episode.media_url == "https://x.example/f/a.mp3"
    # feedparser keeps only the last transcript's attributes.
    assert episode.transcripts == [TranscriptRef("https://x.example/f/t2.vtt", "text/vtt", "de")]
    assert episode.chapters_url == "https://x.example/f/c.json"


def test_undeclared_podcast_prefix() -> None:
    """A feed using podcast: without declaring it still yields every transcript and person."""
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <podcast:person role="guest">Gil</podcast:person>
    <item><guid>g</guid><title>E</title>
    <podcast:transcript url="https://t.example/a.srt"/>
    <podcast:transcript url="https://t.example/a.json" type="application/json"/>
    </item></channel></rss>"""
    show, (episode,) = parse_feed(rss, "https://t.example/feed")
    assert show.persons == [Person("Gil", "guest")]
    assert [(t.url, t.type) for t in episode.transcripts] == [
        ("https://t.example/a.srt", "application/x-subrip"),  # type guessed from the extension
        ("https://t.example/a.json", "application/json"),
    ]


def test_feed_served_as_html_is_still_a_feed(srv: LocalServer, client: httpx.Client) -> None:
    """Misconfigured servers send feeds as text/html; the bytes decide."""
    srv.types["/feed.xml"] = "text/html; charset=utf-8"
    result = fetch_feed(client, srv.url("feed.xml"))
    assert result.show is not None and len(result.episodes) == 3


def test_conditional_get(srv: LocalServer, client: httpx.Client) -> None:
    """The second fetch sends the validators and gets a 304."""
    first = fetch_feed(client, srv.url("feed.xml"))
    second = fetch_feed(client, srv.url("feed.xml"), etag=first.etag)
    assert second.not_modified
    assert second.show is None and second.episodes == []
    assert second.etag == first.etag
    method, path, headers = srv.requests[-1]
    assert (method, path) == ("GET", "/feed.xml")
    assert headers["If-None-Match"] == first.etag
    assert headers["User-Agent"] == "podgrep/0.1"
    assert "If-None-Match" not in srv.requests[0][2]

    third = fetch_feed(client, srv.url("feed.xml"), last_modified=first.last_modified)
    assert third.not_modified
    assert srv.requests[-1][2]["If-Modified-Since"] == first.last_modified
    assert third.last_modified == first.last_modified  # kept although the 304 did not repeat it


def test_redirect_keeps_given_url(srv: LocalServer, client: httpx.Client) -> None:
    """Redirects are followed; the show keeps the given URL and relative URLs use the final one."""
    srv.routes["/old/feed"] = Route(301, headers={"Location": srv.url("feed.xml")})
    result = fetch_feed(client, srv.url("old/feed"))
    assert result.show is not None
    assert result.show.feed_url == srv.url("old/feed")
    assert result.final_url == srv.url("feed.xml")
    assert result.episodes[0].media_url == srv.url("media/ep3.mp3")


def test_http_404(srv: LocalServer, client: httpx.Client) -> None:
    """A missing feed names the status and what to do."""
    with pytest.raises(FeedError) as info:
        fetch_feed(client, srv.url("nope.xml"))
    assert str(info.value) == (
        f"Feed {srv.url('nope.xml')} answered HTTP 404 Not Found: check the address"
    )


def test_http_500(srv: LocalServer, client: httpx.Client) -> None:
    """A server error says to try later."""
    srv.routes["/broken"] = Route(503, b"down")
    with pytest.raises(FeedError, match=r"HTTP 503 .*try again later"):
        fetch_feed(client, srv.url("broken"))


def test_html_page_names_linked_feed(srv: LocalServer, client: httpx.Client) -> None:
    """A web page is refused, pointing at the feed it links to."""
    srv.routes["/show"] = Route(200, HTML_PAGE, "text/html; charset=utf-8")
    with pytest.raises(FeedError) as info:
        fetch_feed(client, srv.url("show"))
    assert str(info.value) == (
        f"{srv.url('show')} is a web page, not a podcast feed: "
        f"the page links to a feed at {srv.url('podcast/feed.rss')}"
    )


def test_html_page_without_feed_link(srv: LocalServer, client: httpx.Client) -> None:
    """A web page with no feed link, even one sent with an XML type, says to look for one."""
    srv.routes["/page"] = Route(200, b"<html><body>hi</body></html>", "application/xml")
    with pytest.raises(FeedError, match=r"is a web page, not a podcast feed: look for its RSS"):
        fetch_feed(client, srv.url("page"))


def test_media_file_is_refused_unread(srv: LocalServer, client: httpx.Client) -> None:
    """A media URL given as a feed is refused by its type, before the body is parsed."""
    srv.routes["/ep.mp3"] = Route(200, b"ID3" + bytes(5000), "audio/mpeg")
    with pytest.raises(
        FeedError, match=r"not a valid RSS or Atom feed \(the server sent audio/mpeg"
    ):
        fetch_feed(client, srv.url("ep.mp3"))


def test_malformed_xml(srv: LocalServer, client: httpx.Client) -> None:
    """Broken XML with nothing usable in it names the parser's complaint."""
    srv.routes["/bad.xml"] = Route(200, MALFORMED, "application/rss+xml")
    with pytest.raises(FeedError) as info:
        fetch_feed(client, srv.url("bad.xml"))
    assert str(info.value) == (
        f"{srv.url('bad.xml')} is not a valid RSS or Atom feed (mismatched tag at line 6)"
    )


def test_plain_text(srv: LocalServer, client: httpx.Client) -> None:
    """Plain text is not a feed."""
    srv.routes["/notes.txt"] = Route(200, b"just some words\nhttp://example.com/\n", "text/plain")
    with pytest.raises(FeedError) as info:
        fetch_feed(client, srv.url("notes.txt"))
    assert str(info.value) == (
        f"{srv.url('notes.txt')} is not a valid RSS or Atom feed "
        "(not XML; the server sent text/plain)"
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the document is empty"),
        (b"\x00\x01binary", "not XML"),
        (b'<?xml version="1.0"?><opml version="2.0"><body/></opml>', "found <opml>, not <rss>"),
        (MALFORMED, "mismatched tag at line 6"),
    ],
)
def test_parse_feed_garbage(data: bytes, reason: str) -> None:
    """parse_feed refuses garbage with the same message shape."""
    with pytest.raises(FeedError, match="is not a valid RSS or Atom feed") as info:
        parse_feed(data, "https://x.example/feed")
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_connection_refused(client: httpx.Client) -> None:
    """Nothing listening: one line naming the address."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed.xml"
    with pytest.raises(FeedError) as info:
        fetch_feed(client, url)
    message = str(info.value)
    assert message.startswith(f"Could not reach {url}: ")
    assert "\n" not in message and "Errno" not in message


def test_timeout() -> None:
    """A server that accepts but never answers times out with a clear reason."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        url = f"http://127.0.0.1:{s.getsockname()[1]}/feed.xml"
        with httpx.Client(timeout=0.2) as c, pytest.raises(FeedError) as info:
            fetch_feed(c, url)
    assert str(info.value) == f"Could not reach {url}: timed out"


def test_guids_stable_across_parses() -> None:
    """Same bytes give the same guids, whatever address the feed was read from."""
    first = [e.guid for e in parse_feed(RSS, "https://a.example/feed.xml")[1]]
    again = [e.guid for e in parse_feed(RSS, "https://a.example/feed.xml")[1]]
    moved = [e.guid for e in parse_feed(RSS, "https://b.example/other/rss")[1]]
    assert first == again == moved
    assert all(first) and len(set(first)) == 3


def test_guid_falls_back_to_link_then_hash() -> None:
    """No guid and no enclosure: the link, then a stable hash of title and date."""
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <item><title>Linked</title><link>https://t.example/1</link></item>
    <item><title>Bare</title><pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item>
    <item><description>no title at all</description></item>
    </channel></rss>"""
    show, episodes = parse_feed(rss, "https://t.example/feed")
    linked, bare, untitled = episodes
    assert show.link is None and show.description is None
    assert linked.guid == "https://t.example/1"
    assert bare.guid.startswith("podgrep:") and bare.media_url is None
    assert bare.guid == parse_feed(rss, "https://t.example/feed")[1][1].guid
    assert untitled.title == "Untitled episode"
    assert untitled.guid.startswith("podgrep:") and untitled.guid != bare.guid


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3723", 3723.0),
        ("62:03", 3723.0),
        ("1:02:03", 3723.0),
        ("1:02:03.5", 3723.5),
        (" 00:45:00 ", 2700.0),
        ("", None),
        ("abc", None),
        ("1:2:3:4", None),
        ("-5", None),
        ("1.5:00", None),
        ("00:00:00", None),
        (None, None),
    ],
)
def test_parse_duration(value: str | None, seconds: float | None) -> None:
    """itunes:duration in its common forms; junk is None."""
    assert _parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("data", "content_type", "expected"),
    [
        (RSS, "application/rss+xml", True),
        (RSS, "text/html", True),
        (ATOM, None, True),
        (b"\xef\xbb\xbf<!-- hi --><rdf:RDF xmlns:rdf='x'/>", None, True),
        ('<?xml version="1.0"?><rss/>'.encode("utf-16"), None, True),
        (HTML_PAGE, "text/html", False),
        (HTML_PAGE, "application/rss+xml", False),
        (b"ID3\x04\x00binary", "audio/mpeg", False),
        (b"plain words", "text/plain", False),
        (b"", "application/rss+xml", False),
        (b"", None, False),
    ],
)
def test_looks_like_feed(data: bytes, content_type: str | None, expected: bool) -> None:
    """The sniff trusts the bytes first and the header only when the bytes say nothing."""
    assert looks_like_feed(data, content_type) is expected


@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-le", "utf-32-be", "utf-16", "utf-16-be"])
def test_feeds_in_utf32_and_utf16_are_feeds(encoding: str):
    """With a BOM (utf-32, utf-16) or without one (-le/-be): sniffed and parsed as feeds."""
    from tests.conftest import feed_xml

    xml = feed_xml("http://127.0.0.1:1", "Wide Show", [("Ep", "g1", "a.mp3", "audio/mpeg")])
    data = xml.replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"').encode(encoding)
    assert looks_like_feed(data, None)
    show, episodes = parse_feed(data, "http://127.0.0.1:1/feed.xml")
    assert show.title == "Wide Show" and [e.title for e in episodes] == ["Ep"]
