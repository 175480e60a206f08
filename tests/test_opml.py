"""OPML in and out: `podgrep opml` read back by listparser (a parser podgrep did not write),
`podgrep add LIST` from a served URL and from a file (nested outlines, broken ones listed, the
good ones added), and lists that are not OPML, hold no feeds or declare entities refused with
one line and nothing changed."""

from __future__ import annotations

from pathlib import Path

import listparser
import pytest

from podgrep.config import load_settings
from podgrep.domain import Show
from podgrep.opml import feed_address, is_opml, read_opml, write_opml
from podgrep.runtime import open_store
from tests.conftest import DATA, Served, invoke
from tests.test_backlog import write_feed

UNREACHABLE = "http://127.0.0.1:9/gone.xml"  # nothing listens on the discard port

NESTED = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My podcasts</title></head>
  <body>
    <outline text="Tech">
      <outline text="First" type="rss" xmlUrl="{one}"/>
      <outline text="Deeper">
        <outline title="Second" text="2" type="rss" xmlurl="{two}"/>
      </outline>
    </outline>
    <outline text="Gone" type="rss" xmlUrl="{gone}"/>
    <outline text="Not http" type="rss" xmlUrl="ftp://example.org/feed.xml"/>
    <outline text="A page" type="rss" xmlUrl="{page}"/>
    <outline text="First again" type="rss" xmlUrl="{one}"/>
  </body>
</opml>"""


def home_store(home: Path):  # type: ignore[no-untyped-def]
    return open_store(load_settings(home).db_path)


def test_export_round_trip_through_listparser(served: Served, tmp_path: Path) -> None:
    one = write_feed(served, f"rt1-{tmp_path.name}.xml", [10, 11])
    two = write_feed(served, f"rt2-{tmp_path.name}.xml", [12])
    assert invoke(["add", one, two, str(DATA / "jfk.flac")], tmp_path)[0] == 0
    with home_store(tmp_path) as store:
        shows = {s.feed_url: s for s in store.list_shows()}
        # a title needing escapes, and a paused show: still a subscription
        odd = 'Data & "Talk" <live> \x0b'
        store.update_show(shows[two].id, Show(None, two, odd, kind="feed"))
        store.set_paused(shows[one].id, True)
    out_file = tmp_path / "subs.opml"
    code, out, err = invoke(["opml", "-o", str(out_file)], tmp_path)
    assert code == 0, err
    parsed = listparser.parse(out_file.read_text(encoding="utf-8"))
    assert not parsed.bozo, parsed.bozo_exception
    feeds = {f.url: f.title for f in parsed.feeds}
    # the local file's show is not a feed subscription
    assert feeds == {one: one.rsplit("/", 1)[-1], two: 'Data & "Talk" <live>'}
    text = out_file.read_text(encoding="utf-8")
    assert '<opml version="2.0">' in text and "<dateCreated>" in text
    assert 'type="rss"' in text and 'htmlUrl="' in text
    # stdout carries the same document
    code, out, _ = invoke(["opml"], tmp_path)
    assert code == 0 and {f.url for f in listparser.parse(out).feeds} == {one, two}
    # and podgrep reads back what it wrote
    assert [o.url for o in read_opml(text.encode(), "x")] == sorted(
        [one, two], key=lambda u: shows[u].id or 0
    )


@pytest.mark.parametrize("via", ["url", "file"])
def test_import_nested_list_with_broken_outlines(served: Served, tmp_path: Path, via: str) -> None:
    one = write_feed(served, f"in1-{via}-{tmp_path.name}.xml", [10, 11, 12])
    two = write_feed(served, f"in2-{via}-{tmp_path.name}.xml", [13, 14])
    doc = NESTED.format(one=one, two=two, gone=UNREACHABLE, page=served.url("page.html"))
    if via == "url":  # no .opml suffix: recognised by its content
        (served.root / f"subs-{tmp_path.name}").write_text(doc, encoding="utf-8")
        target = served.url(f"subs-{tmp_path.name}")
    else:
        (tmp_path / "export.xml").write_text(doc, encoding="utf-8")
        target = str(tmp_path / "export.xml")
    code, out, err = invoke(["add", target, "--latest", "1"], tmp_path)
    assert code == 1  # something was broken: listed, the rest added
    assert out.count("Added feed") == 2, out
    broken = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(broken) == 3, err
    assert any(UNREACHABLE in line and "'Gone'" in line for line in broken)
    assert any("ftp://example.org/feed.xml" in line for line in broken)
    assert any("page.html" in line for line in broken)
    # the limit applied to every feed of the list
    assert err.count("1 episode queued") == 2 and "2 held" in err and "1 held" in err
    with home_store(tmp_path) as store:
        assert sorted(s.feed_url for s in store.list_shows()) == sorted([one, two])
        assert sum(c.held for c in store.status_counts()) == 3
        # a file is the user's own list; a URL list the user named by this machine's address
        # may reach that machine, and its feeds there are the user's as well
        assert all(s.chosen_by_user for s in store.list_shows())
    # adding the list again: the same shows, nothing new
    code, out, _ = invoke(["add", target], tmp_path)
    assert out.count("Already have feed") == 2
    with home_store(tmp_path) as store:
        assert len(store.list_shows()) == 2


@pytest.mark.parametrize(
    ("name", "body", "says"),
    [
        ("not.opml", "<html><body>subscriptions</body></html>", "is not an OPML subscription"),
        ("empty.opml", "", "is not an OPML subscription"),
        (
            "folders.opml",
            '<opml version="2.0"><body><outline text="Tech"><outline text="x" /></outline>'
            "</body></opml>",
            "holds no feeds",
        ),
        ("broken.xml", '<opml version="2.0"><body><outline xmlUrl="http://a/"', "not well-formed"),
        (
            "bomb.opml",
            '<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
            '<opml version="2.0"><body><outline text="&c;" xmlUrl="http://a/&c;"/></body></opml>',
            "declares XML entities",
        ),
    ],
)
def test_bad_lists_change_nothing(tmp_path: Path, name: str, body: str, says: str) -> None:
    (tmp_path / name).write_text(body, encoding="utf-8")
    code, out, err = invoke(["add", str(tmp_path / name)], tmp_path / "home")
    assert code == 1 and out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and says in lines[0], err
    with home_store(tmp_path / "home") as store:
        assert store.list_shows() == []


def test_opml_served_with_no_feeds_changes_nothing(served: Served, tmp_path: Path) -> None:
    (served.root / f"nofeeds-{tmp_path.name}.opml").write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body/></opml>', encoding="utf-8"
    )
    code, _, err = invoke(["add", served.url(f"nofeeds-{tmp_path.name}.opml")], tmp_path)
    assert code == 1 and "holds no feeds" in err
    with home_store(tmp_path) as store:
        assert store.list_shows() == []


def test_podcast_app_schemes_read_as_http() -> None:
    assert feed_address("feed://https://a.example/rss") == "https://a.example/rss"
    assert feed_address("feed://a.example/rss") == "http://a.example/rss"
    assert feed_address("feed:https://a.example/rss") == "https://a.example/rss"
    assert feed_address("ITPC://a.example/rss") == "http://a.example/rss"
    assert feed_address("pcast://a.example/rss") == "http://a.example/rss"
    assert feed_address("podcast://a.example/rss") == "http://a.example/rss"
    assert feed_address("https://a.example/rss") == "https://a.example/rss"
    assert feed_address("ftp://a.example/rss") == "ftp://a.example/rss"
    doc = (
        '<opml version="2.0"><body><outline xmlUrl="feed://b.example/x"/>'
        '<outline xmlUrl="http://b.example/x"/><outline xmlUrl="pcast://c.example/y"/></body></opml>'
    )
    # the same feed under two spellings is one outline
    assert [o.url for o in read_opml(doc.encode(), "x")] == [
        "http://b.example/x", "http://c.example/y",
    ]  # fmt: skip


def test_writer_escapes_and_sniffer() -> None:
    shows = [
        Show(1, "http://a.example/feed?x=1&y=2", "A & B", kind="feed", link="http://a.example/"),
        Show(2, "local:files", "Files", kind="local"),
    ]
    text = write_opml(shows)
    assert "x=1&amp;y=2" in text and 'text="A &amp; B"' in text and "local:files" not in text
    assert is_opml(text.encode()) and is_opml(b"\xef\xbb\xbf<?xml version='1.0'?>\n<OPML/>")
    assert not is_opml(b"<rss><channel/></rss>") and not is_opml(b"\x00\x01binary")


def test_a_list_from_a_url_reaches_only_what_its_content_may(
    served: Served, tmp_path: Path
) -> None:
    """A list fetched from a URL is content of that address: an outline may reach only what
    that list's content may (public addresses, allow_networks), not this machine or the cloud
    metadata address, and the shows it adds are not the user's choice, so later fetches keep
    to the same rules. `lists.test` and `podcast.test` stand for public names (resolve)."""
    port = served.server.port
    public = write_feed(served, f"pub-{tmp_path.name}.xml", [10, 11])
    inside = write_feed(served, f"inside-{tmp_path.name}.xml", [12])
    as_public = public.replace("127.0.0.1", "podcast.test")
    doc = NESTED.replace('<outline text="Gone" type="rss" xmlUrl="{gone}"/>', "").format(
        one=as_public.replace("http://", "itpc://"),  # a podcast app's scheme: read as http
        two=inside,  # this machine, named by address by the list, not by the user
        page="http://169.254.169.254/latest/meta-data/",
    )
    (served.root / f"evil-{tmp_path.name}.opml").write_text(doc, encoding="utf-8")
    target = f"http://lists.test:{port}/evil-{tmp_path.name}.opml"
    env = {
        "PODGREP_RESOLVE": "lists.test=127.0.0.1,podcast.test=127.0.0.1",
        "PODGREP_ALLOW_NETWORKS": "podcast.test",  # the user's own rule: content may go there
        "PODGREP_HTTP_DEADLINE": "5",
    }
    code, out, err = invoke(["add", target], tmp_path, **env)
    assert code == 1 and out.count("Added feed") == 1, out + err
    broken = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(broken) == 3, err  # the loopback feed, the metadata address, ftp://
    refused = [line for line in broken if "loopback, private or reserved" in line]
    assert len(refused) == 2, err
    assert any(inside in line for line in refused)
    assert any("169.254.169.254" in line for line in refused)
    with home_store(tmp_path) as store:
        [show] = store.list_shows()
        assert show.feed_url == as_public and not show.typed and not show.chosen_by_user
    # a later check of it keeps to the content rules: without the allow-list entry the address
    # is refused (a typed address would be reached wherever it resolves)
    from types import SimpleNamespace

    from podgrep import net
    from podgrep.library import refresh

    settings = SimpleNamespace(resolve=env["PODGREP_RESOLVE"], allow_networks="")
    with home_store(tmp_path) as store, net.client(settings) as client:
        checked = refresh(store, show, client)
        assert checked.error is not None and "loopback, private or reserved" in checked.error
        settings.allow_networks = "podcast.test"
    with home_store(tmp_path) as store, net.client(settings) as client:
        assert refresh(store, store.list_shows()[0], client).error is None
