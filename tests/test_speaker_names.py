"""Names from the feed, the show notes, self-introductions and being addressed."""

from __future__ import annotations

import numpy as np

from podgrep.domain import Person, Segment
from podgrep.speakers.names import candidates, name_speakers, notes_names


def _turns(*lines: tuple[int, str]) -> list[tuple[Segment, int]]:
    out, t = [], 0.0
    for k, text in lines:
        out.append((Segment(t, t + 4.0, text), k))
        t += 5.0
    return out


def test_self_introduction_names_the_speaker_who_says_it():
    turns = _turns(
        (0, "Hello and welcome to the show. I'm Jon Krohn, and today we talk about data."),
        (1, "Hi, my name is Reza Shabani, and I lead AI at Replit."),
        (0, "Great."),
    )
    names = name_speakers(turns, 2, [])
    assert [n.name for n in names] == ["Jon Krohn", "Reza Shabani"]
    assert [n.source for n in names] == ["intro", "intro"]


def test_address_names_whoever_answers_not_who_speaks():
    turns = _turns(
        (1, "Yannic, welcome to the Super Data Science podcast. Where are you calling from?"),
        (0, "In Zurich. Thanks for having me."),
        (1, "Nice."),
    )
    known = candidates([Person("Jon Krohn", "host")], [], None, "Yannic Kilcher on Open Assistant")
    names = name_speakers(turns, 2, known)
    assert names[0].name == "Yannic Kilcher"  # the feed's spelling of the name heard
    assert names[0].role == "guest"
    assert names[1].name == "Jon Krohn"  # the feed's host: says "welcome to the … podcast"
    assert names[1].role == "host"


def test_misheard_first_name_and_surname_still_match_the_feed():
    turns = _turns(
        (1, "Yannick culture, welcome to the show."),
        (0, "Thanks for having me."),
    )
    known = candidates([], [Person("Yannic Kilcher", "guest")], None, None)
    names = name_speakers(turns, 2, known)
    assert names[0].name == "Yannic Kilcher"


def test_no_evidence_no_name():
    turns = _turns((0, "So what do you think?"), (1, "I'm not sure, honestly."), (0, "Right."))
    names = name_speakers(turns, 2, [])
    assert [n.name for n in names] == [None, None]


def test_show_notes_and_title_offer_guests():
    notes = "<p>In this episode, a conversation with <b>Reza Shabani</b> of Replit about code.</p>"
    assert notes_names(notes, None) == ["Reza Shabani"]
    assert notes_names(None, "Yannic Kilcher on Open Assistant") == ["Yannic Kilcher"]
    assert notes_names("Sponsored by The Company. Get It Now.", "Episode 12: Data") == []
    found = candidates([Person("Jon Krohn", "host")], [], notes, None)
    assert [(c.name, c.role, c.source) for c in found] == [
        ("Jon Krohn", "host", "feed"),
        ("Reza Shabani", "guest", "notes"),
    ]


def test_voiceprint_names_a_voice_it_knows():
    rng = np.random.default_rng(0)
    jon, guest = rng.random(256), rng.random(256)
    jon, guest = jon / np.linalg.norm(jon), guest / np.linalg.norm(guest)
    turns = _turns((0, "Okay."), (1, "Sure."))
    names = name_speakers(turns, 2, [], np.stack([guest, jon]), {"Jon Krohn": jon})
    assert [n.name for n in names] == [None, "Jon Krohn"]
    assert names[1].source == "voiceprint"


def test_sentence_initial_greetings_and_titles_name_the_right_voice():
    turns = _turns(
        (0, "Welcome, Ada. It's great to finally do this."),
        (1, "Thanks, Charles. My name is Dr. Ada Lovelace, for those who don't know me."),
        (0, "This is Charles Babbage, and this is our show."),
    )
    names = name_speakers(turns, 2, [])
    assert [n.name for n in names] == ["Charles Babbage", "Ada Lovelace"]


def test_nationalities_months_and_sentences_are_not_names():
    turns = _turns(
        (0, "I'm Canadian, so winter is fine. This is January after all."),
        (1, "This is Python's biggest problem. I'm English, by the way."),
        (0, "I'm OK with that."),
    )
    assert [n.name for n in name_speakers(turns, 2, [])] == [None, None]


def test_a_host_introducing_two_guests_names_the_two_voices_after_it():
    turns = _turns(
        (0, "Hi, I'm Jon. Joining me today are Sarah Lee and Tom Baker."),
        (1, "Hi Jon, thanks for having me."),
        (2, "Great to be here. I'm Tom, by the way."),
        (0, "Let's start."),
    )
    names = name_speakers(turns, 3, [])
    assert [n.name for n in names] == ["Jon", "Sarah Lee", "Tom Baker"]
