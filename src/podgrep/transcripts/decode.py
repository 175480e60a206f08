"""Transcript bytes as text: byte-order marks, UTF-16 without one, legacy code pages (detected:
Shift-JIS, GB18030, Big5, EUC-KR, Windows-1251, Mac Roman; else Windows-1252), and a clear error
for files that are no text at all (empty, binary, audio, PDF, Word)."""

from __future__ import annotations

import codecs
import re

from podgrep.errors import PodgrepError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# what a file is when its first bytes say so: none of these is a transcript we can read
_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (a .docx or .zip?)"),
    (b"\xd0\xcf\x11\xe0", "an old Word/Office document"),
    (b"{\\rtf", "an RTF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"ID3", "an MP3 audio file"),
    (b"RIFF", "a RIFF (WAV/AVI) file"),
    (b"OggS", "an Ogg audio file"),
    (b"fLaC", "a FLAC audio file"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x1a\x45\xdf\xa3", "a Matroska/WebM file"),
    (b"SQLite format 3", "an SQLite database"),
)
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f]")
NUL_SHARE = 0.01  # text with more NULs than this (and a few) is binary data


def decode(data: bytes) -> str:
    """The text of a transcript file, newlines as `\\n`; PodgrepError when it holds no text."""
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise PodgrepError("The transcript file is empty")
    text = _decode(data)
    # WebVTT (and HTML) replace NUL by U+FFFD; a stray one in text is no binary file
    return normalize(_check_text(text)).replace("\x00", "\ufffd")


def normalize(text: str) -> str:
    """Drop a byte-order mark and turn CRLF/CR line ends into `\\n`."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _decode(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise PodgrepError(f"The transcript file is not valid {encoding}: {exc}") from exc
    utf16 = _utf16_without_bom(data)
    if utf16:
        try:
            return data.decode(utf16)
        except UnicodeDecodeError:
            pass
    if (
        data[:4] == b"\x1a\x45\xdf\xa3"
        or data[4:8] == b"ftyp"
        or (data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"))
    ):
        raise PodgrepError("The transcript file is audio or video, not a transcript")
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise PodgrepError(
                f"The transcript file is {what}, not a transcript: save it as text, SRT, "
                "WebVTT, JSON or HTML"
            )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    legacy = _legacy_encoding(data)
    if legacy:
        try:
            return data.decode(legacy)
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("cp1252")  # Windows editors: curly quotes as \x93 \x94 \x92
    except UnicodeDecodeError:
        return data.decode("latin-1")


# Latin-script single-byte code pages charset_normalizer confuses with one another (a
# Windows-1252 file is often called cp1250 or latin-1): for these Windows-1252 is read
_LATIN = re.compile(
    r"^(?:cp125[02478]|latin_1|iso8859_(?:1|2|3|4|9|1[0345]|16)|ascii|cp850|cp437)$"
)


def _legacy_encoding(data: bytes) -> str | None:
    """The legacy code page of text that is not UTF-8 (Shift-JIS, GB18030, Big5, EUC-KR,
    Windows-1251, Mac Roman…), as charset_normalizer guesses it; None when it is unsure or
    guesses a Latin code page, which Windows-1252 reads best."""
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is None:
        return None
    encoding = str(best.encoding)
    if encoding.startswith("mac_"):
        return "mac_roman"  # mac_iceland, mac_latin2…: Mac Roman is the one editors write
    if _LATIN.match(encoding) or best.chaos > 0.3:
        return None
    return encoding


def _utf16_without_bom(data: bytes) -> str | None:
    """`utf-16-le`/`-be` when every other byte of mostly-ASCII text is NUL."""
    sample = data[:4000]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _check_text(text: str) -> str:
    sample = text[:20000]
    if not sample.strip(" \t\r\n\ufeff\x00"):
        raise PodgrepError("The transcript file is empty")
    bad = len(_CONTROL.findall(sample)) + sample.count("\ufffd")
    nuls = sample.count("\x00")
    if nuls > max(4, NUL_SHARE * len(sample)) or bad > max(2, 0.02 * len(sample)):
        raise PodgrepError(
            "The transcript file is binary data, not text: import SRT, WebVTT, JSON, HTML "
            "or a plain-text transcript"
        )
    return text
