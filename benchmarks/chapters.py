"""Generated chapters against the publisher's: boundary F1 within ±30 s.

    python benchmarks/chapters.py [--titles]

For every episode in the directory pages of tests/data/transcripts that has both a transcript
and a `Timestamps`/`Chapters` list in its show notes, chapters are generated from the
transcript alone (topic shifts over sentence embeddings, TextTiling) and their starts are
matched one-to-one to the listed ones (the opening chapter at 0 is not counted). With
`--titles`, every episode's generated chapters are printed beside the listed ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from podgrep.domain import Chapter  # noqa: E402
from podgrep.enrich.topics import boundary_f1, generate_chapters  # noqa: E402
from podgrep.semantic.embed import shared_embedder  # noqa: E402
from podgrep.transcripts.importer import read_transcript  # noqa: E402

PAGES = ["latent-space-directory-page-2024.txt", "latent-space-directory-page-2023.txt"]


def _clock(seconds: float) -> str:
    return f"{int(seconds) // 60:02d}:{int(seconds) % 60:02d}"


def side_by_side(found: list[Chapter], listed: list[Chapter]) -> list[str]:
    """Both chapter lists merged by start time: generated left, listed right."""
    rows = [(c.start, 0, c.title) for c in found] + [(c.start, 1, c.title) for c in listed]
    lines = []
    for start, side, title in sorted(rows):
        text = f"{_clock(start)}  {title}"
        lines.append(f"    {text:<68}" if side == 0 else f"    {'':<68}{text}")
    return lines


def main() -> None:
    """Print F1 per episode and the mean (and the titles, with --titles)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", action="store_true", help="print generated vs listed")
    args = parser.parse_args()
    embedder = shared_embedder()
    scores, details = [], []
    print("| episode | listed | generated | F1 ±30 s | seconds |")
    print("|---|---|---|---|---|")
    for page in PAGES:
        for ep in read_transcript((ROOT / "tests/data/transcripts" / page).read_bytes(), page):
            if not ep.segments or len(ep.notes_chapters) < 2:
                continue
            t = time.perf_counter()
            found = generate_chapters(ep.segments, embedder)
            f1 = boundary_f1([c.start for c in found], [c.start for c in ep.notes_chapters])
            scores.append(f1)
            print(
                f"| {(ep.title or '')[:50]} | {len(ep.notes_chapters)} | {len(found)} | "
                f"{f1:.2f} | {time.perf_counter() - t:.1f} |"
            )
            details.append((ep.title or "", found, ep.notes_chapters))
    print(f"\nmean boundary F1 over {len(scores)} episodes: {sum(scores) / len(scores):.2f}")
    if args.titles:
        for title, found, listed in details:
            print(f"\n{title}\n    {'generated':<68}listed")
            print("\n".join(side_by_side(found, listed)))


if __name__ == "__main__":
    main()
