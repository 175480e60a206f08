"""Issue #13, names: item people replace the channel's, roles, one voice, misheard names, N−1,
and the hotwords Whisper is prompted with."""

from __future__ import annotations

from podgrep.asr.hotwords import episode_hotwords
from podgrep.domain import Episode, Person, Segment, Show
from podgrep.sources.feed import parse_feed
from podgrep.speakers.names import candidates, name_score, name_speakers
from tests.test_speaker_names import _turns

FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel>
  <title>Super Data Science</title>
  <podcast:person>Kirill Eremenko</podcast:person>
  <item>
    <title>Open models</title>
    <guid>ep-1</guid>
    <enclosure url="https://example.com/1.mp3" type="audio/mpeg" length="1"/>
    <podcast:person role="Host">Jon Krohn</podcast:person>
    <podcast:person role="guest">Yannic Kilcher</podcast:person>
  </item>
  <item>
    <title>No people of its own</title>
    <guid>ep-2</guid>
    <enclosure url="https://example.com/2.mp3" type="audio/mpeg" length="1"/>
  </item>
</channel>
</rss>"""


def test_item_people_replace_the_channels():
    show, episodes = parse_feed(FEED, "https://example.com/feed.xml")
    assert [(p.name, p.role, p.group) for p in show.persons] == [
        ("Kirill Eremenko", "host", "cast")
    ]
    first, second = episodes
    assert [(p.name, p.role) for p in first.persons] == [
        ("Jon Krohn", "host"),
        ("Yannic Kilcher", "guest"),
    ]
    found = candidates(show.persons, first.persons, None, None)
    assert [(c.name, c.role) for c in found] == [("Jon Krohn", "host"), ("Yannic Kilcher", "guest")]
    # an item without people of its own has the channel's
    assert [c.name for c in candidates(show.persons, second.persons, None, None)] == [
        "Kirill Eremenko"
    ]
    # the channel's host names no voice of an episode whose item lists its own people
    turns = _turns(
        (0, "Welcome to the show, I'm your host."),
        (1, "Thanks for having me."),
        (0, "Great."),
    )
    names = name_speakers(turns, 2, found)
    assert "Kirill Eremenko" not in [n.name for n in names]
    assert names[0].name == "Jon Krohn"


def test_a_guest_is_not_named_from_a_host_only_list():
    known = candidates([Person("Jon Krohn", "host")], [], None, None)
    turns = _turns(
        (0, "Welcome to the podcast. Today we talk about data."),
        (1, "Thanks for having me, it's great to be here."),
        (0, "So tell us about your work."),
        (1, "Sure, I work on language models."),
    )
    names = name_speakers(turns, 2, known)
    assert names[0].name == "Jon Krohn"
    assert names[1].name is None
    assert names[1].role == "guest"


def test_co_host_is_a_host_role_and_other_groups_get_no_prior():
    found = candidates(
        [],
        [Person("Sadie Lee", "co-host"), Person("Ann Editor", "editor", "audio post-production")],
        None,
        None,
    )
    assert [c.hosts for c in found] == [True, False]
    turns = _turns((0, "Welcome to the show."), (1, "Thanks for having me."), (0, "Okay."))
    names = name_speakers(turns, 2, found)
    assert names[0].name == "Sadie Lee"
    assert "Ann Editor" not in [n.name for n in names]


def test_one_voice_without_evidence_stays_unnamed():
    known = candidates([Person("Jon Krohn", "host")], [], None, "A song")
    turns = _turns((0, "La la la, the river runs."), (0, "And the night is long."))
    assert [n.name for n in name_speakers(turns, 1, known)] == [None]


def test_one_voice_is_named_from_its_introduction_or_the_notes():
    known = candidates([Person("Jon Krohn", "host")], [], None, None)
    intro = _turns((0, "Hi, I'm Jon, and this is a short solo episode."), (0, "Let's begin."))
    assert name_speakers(intro, 1, known)[0].name == "Jon Krohn"
    host = _turns((0, "Welcome back to the show. I'm your host."), (0, "Today, a short one."))
    assert name_speakers(host, 1, known)[0].name == "Jon Krohn"
    notes = "<p>A speech by Ada Lovelace at the Royal Society.</p>"
    speech = _turns((0, "Members of the society, thank you."), (0, "The engine weaves."))
    assert name_speakers(speech, 1, candidates([Person("Jon Krohn")], [], notes, None))[0].name == (
        "Ada Lovelace"
    )


def test_misheard_names_match_the_feed_in_sound_or_spelling():
    assert name_score("swikes", "Swyx") > 0
    assert name_score("Yannick culture", "Yannic Kilcher") > 0
    assert name_score("Yannick Culture", "Yannic Kilcher") > 0
    assert name_score("Resid Shabani", "Reza Shabani") > 0
    assert name_score("Jon", "John Smith") > 0
    # and different names do not
    for heard, known in [
        ("Dan", "Don Smith"),
        ("Jack", "Jake Smith"),
        ("Yann", "Yannic Kilcher"),
        ("Yann LeCun", "Yannic Kilcher"),
        ("Sadie", "Sandy Lee"),
        ("Tom", "Tim Baker"),
    ]:
        assert name_score(heard, known) == 0, (heard, known)


def test_a_lower_case_misheard_name_is_taken_when_it_matches_the_feed():
    known = candidates([], [Person("Alessio Fanelli"), Person("Swyx", "co-host")], None, None)
    turns = _turns(
        (0, "This is Alessio, and I'm joined by my co-host swikes."),
        (1, "Hey everyone."),
        (0, "Let's start."),
    )
    names = name_speakers(turns, 2, known)
    assert [n.name for n in names] == ["Alessio Fanelli", "Swyx"]
    # a lower-case word that matches no one is no name
    assert [n.name for n in name_speakers(turns, 2, [])] == ["Alessio", None]


def test_the_last_voice_gets_the_last_person_when_its_role_fits():
    people = [
        Person("Jon Krohn", "host"),
        Person("Yannic Kilcher", "guest"),
        Person("Sadie Lee", "guest"),
    ]
    known = candidates([], people, None, None)
    turns = _turns(
        (0, "Welcome to the podcast. I'm Jon Krohn."),
        (0, "Yannic Kilcher, welcome."),
        (1, "Thanks for having me."),
        (0, "And our second guest works on data platforms."),
        (2, "Glad to be here."),
        (1, "Yes, data matters."),
        (2, "Absolutely, it does."),
    )
    names = name_speakers(turns, 3, known)
    assert [n.name for n in names] == ["Jon Krohn", "Yannic Kilcher", "Sadie Lee"]
    assert names[2].source == "last"
    # the last person is a host, the last voice says it is a guest: no name
    hosts = candidates([], [people[0], people[1], Person("Ann Host", "host")], None, None)
    names = name_speakers(turns, 3, hosts)
    assert names[2].name is None


def test_a_name_the_feed_lacks_is_not_given_from_an_address():
    known = candidates([], [Person("Jon Krohn", "host"), Person("Sadie Lee", "guest")], None, None)
    turns = _turns(
        (0, "Welcome to the show. I'm Jon Krohn. Wicks, welcome."),
        (1, "Thanks for having me."),
        (0, "Great."),
    )
    names = name_speakers(turns, 2, known)
    assert [n.name for n in names] == ["Jon Krohn", "Sadie Lee"]  # the N−1 rule, not "Wicks"


def test_hotwords_come_from_the_stored_metadata():
    show = Show(
        id=None,
        feed_url="https://example.com/feed.xml",
        title="Latent Space",
        author="Alessio Fanelli and Swyx",
        persons=[Person("Kirill Eremenko", "host")],
    )
    ep = Episode(
        id=None,
        show_id=None,
        guid="g",
        title="Open data, with Reza Shabani",
        show_notes_html="<p>This week Reza Shabani of Replit joins us. Sponsored by Gurobi and "
        "by CloudWolf. We talk about OpenAssistant, Llama and InstructGPT. See "
        "https://example.com.</p>",
        persons=[Person("Swyx", "host"), Person("Reza Shabani", "guest")],
    )
    hot = episode_hotwords(show, ep)
    assert hot == (
        "Swyx, Reza Shabani, Latent Space, Alessio Fanelli, Replit, Gurobi, CloudWolf, "
        "OpenAssistant, Llama, InstructGPT"
    )
    assert "Kirill" not in hot  # the item's people replace the channel's
    assert episode_hotwords(show, ep) == hot  # the same metadata, the same words
    assert len(hot) < 240


def test_names_in_the_notes_lose_their_titles_and_keep_their_initials():
    from podgrep.speakers.names import notes_names, notes_speakers

    assert notes_speakers("<p>A speech by President John F. Kennedy.</p>", None) == [
        "John F. Kennedy"
    ]
    assert notes_speakers("A speech by John F. Kennedy: the moon.", None) == ["John F. Kennedy"]
    assert notes_speakers("Read by Stephen Fry.", None) == ["Stephen Fry"]
    assert notes_speakers("Remarks by Senator Elizabeth Warren.", None) == ["Elizabeth Warren"]
    assert notes_names("An interview with DeepJudge CTO Yannic Kilcher.", None) == [
        "Yannic Kilcher"
    ]
    assert notes_names("A conversation with Google CEO Sundar Pichai.", None) == ["Sundar Pichai"]
    assert notes_names("With our guest Dr. Ada Lovelace.", None) == ["Ada Lovelace"]


def test_a_misheard_introduction_of_someone_nobody_lists_names_no_one():
    from podgrep.domain import Word

    known = candidates([Person("Kirill Eremenko", "host")], [], None, None)

    def intro(surely: float) -> list[tuple[Segment, int]]:
        words = [
            Word(0.0, 0.3, " I'm"),
            Word(0.3, 0.6, " John"),
            Word(0.6, 1.0, " Chrome.", surely),
        ]
        return [
            (Segment(0.0, 1.0, "I'm John Chrome.", words=words), 0),
            (Segment(1.5, 4.0, "Today we talk about models."), 0),
            (Segment(4.5, 8.0, "Thanks for having me."), 1),
        ]

    assert name_speakers(intro(0.30), 2, known)[0].name is None  # "Chrome" heard at 0.30
    assert name_speakers(intro(0.95), 2, known)[0].name == "John Chrome"
