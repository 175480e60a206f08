"""A show at a glance: totals, cadence, episodes per month (as an SVG) and its most-said words."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from markupsafe import Markup, escape

from podgrep.domain import Episode

MAX_MONTHS = 60  # the chart shows at most the last five years
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_STOP_TEXT = """a about above actually after again against ago all almost also always am an and
    any are has
    aren't around as at away back be because been before being below between both but by can
    can't cannot come could couldn't did didn't do does doesn't doing don't done down during each
    even ever every few first for from further get gets getting go goes going gonna good got had
    hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his
    how how's i i'd i'll i'm i've if in into is isn't it it's its itself just kind know let let's
    like little lot lots make many maybe me mean might more most much must my myself need no nor
    not now of off oh ok okay on once one only or other others our ours ourselves out over own
    pretty quite rather really right said same say says see she she'd she'll she's should
    shouldn't so some something sort still such sure take tell than thank thanks that that's the
    their theirs them themselves then there there's these they they'd they'll they're they've
    thing things think this those though through to too two um uh under until up upon us very
    want wanted was wasn't way we we'd we'll we're we've well were weren't what what's when
    when's where where's whether which while who who's whom why why's will with won't would
    wouldn't yeah yes yet you you'd you'll you're you've your yours yourself yourselves going
    gotta wanna hmm mm mhm"""
STOPWORDS = frozenset(_STOP_TEXT.split())


@dataclass
class Overview:
    """The numbers in a show's "at a glance" block."""

    episodes: int
    seconds: float  # summed known durations
    unknown_durations: int
    cadence: str | None
    months: list[tuple[str, int]] = field(default_factory=list)  # ("2023-07", count)
    first: float | None = None
    last: float | None = None


def cadence_text(published: list[float]) -> str | None:
    """How often episodes come out, from the median gap: "1 episode / 6 days"."""
    times = sorted(published)
    if len(times) < 2:
        return None
    gap_days = statistics.median(b - a for a, b in zip(times, times[1:], strict=False)) / 86400
    if gap_days <= 0:
        return None
    if gap_days < 0.75:
        return f"{round(1 / gap_days)} episodes / day"
    days = round(gap_days)
    if days == 1:
        return "1 episode / day"
    if days in (7, 14, 21, 28):
        weeks = days // 7
        return "1 episode / week" if weeks == 1 else f"1 episode / {weeks} weeks"
    if 29 <= days <= 31:
        return "1 episode / month"
    if days >= 730:
        return f"1 episode / {round(days / 365)} years"
    if days >= 60:
        return f"1 episode / {round(days / 30.4)} months"
    return f"1 episode / {days} days"


def _month_key(ts: float) -> tuple[int, int]:
    d = datetime.fromtimestamp(ts, UTC)
    return d.year, d.month


def monthly_counts(published: list[float]) -> list[tuple[str, int]]:
    """Episodes per calendar month (UTC), every month from the first to the last, zeros too."""
    if not published:
        return []
    counts = Counter(_month_key(t) for t in published)
    y, m = min(counts)
    end = max(counts)
    months = []
    while (y, m) <= end:
        months.append((f"{y:04d}-{m:02d}", counts.get((y, m), 0)))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months[-MAX_MONTHS:]


def overview(episodes: list[Episode]) -> Overview:
    """Totals, cadence and monthly counts of a show's episodes."""
    published = [e.published for e in episodes if e.published]
    known = [e.duration for e in episodes if e.duration]
    return Overview(
        episodes=len(episodes),
        seconds=sum(known),
        unknown_durations=len(episodes) - len(known),
        cadence=cadence_text(published),
        months=monthly_counts(published),
        first=min(published) if published else None,
        last=max(published) if published else None,
    )


def top_words(texts: Iterable[str], n: int = 24) -> list[tuple[str, int]]:
    """The most frequent words of `texts`, leaving out common function and filler words."""
    counts: Counter[str] = Counter()
    for text in texts:
        for word in _WORD.findall(text.lower()):
            if len(word) > 2 and word not in STOPWORDS:
                counts[word] += 1
    return counts.most_common(n)


_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_label(key: str) -> str:
    """ "2023-07" as "Jul 2023"."""
    year, month = key.split("-")
    return f"{_MONTH_NAMES[int(month) - 1]} {year}"


def history_svg(months: list[tuple[str, int]], width: int = 640, height: int = 150) -> Markup:
    """Episodes per month as an accessible bar chart in inline SVG (no chart service)."""
    if not months:
        return Markup("")
    top = max(c for _, c in months) or 1
    left, bottom, right, head = 28, 22, 6, 8
    plot_w, plot_h = width - left - right, height - bottom - head
    slot = plot_w / len(months)
    bar = max(1.0, slot * 0.78)
    total = sum(c for _, c in months)
    label = (
        f"Episodes per month, {month_label(months[0][0])} to {month_label(months[-1][0])}: "
        f"{total} episodes, at most {top} in a month"
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
        f'<line class="axis" x1="{left}" y1="{head + plot_h}" x2="{width - right}" '
        f'y2="{head + plot_h}"/>',
        f'<text class="tick" x="{left - 4}" y="{head + 4}" text-anchor="end">{top}</text>',
        f'<text class="tick" x="{left - 4}" y="{head + plot_h}" text-anchor="end">0</text>',
    ]
    last_label = -1e9
    for i, (key, count) in enumerate(months):
        x = left + i * slot + (slot - bar) / 2
        h = plot_h * count / top
        y = head + plot_h - h
        tip = f"{month_label(key)}: {count} episode{'s' if count != 1 else ''}"
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}">'
            f"<title>{escape(tip)}</title></rect>"
        )
        x_label = left + i * slot
        if (i == 0 or key.endswith("-01")) and x_label - last_label >= 34:
            parts.append(f'<text class="tick" x="{x_label:.1f}" y="{height - 6}">{key[:4]}</text>')
            last_label = x_label
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers and escaped labels only
