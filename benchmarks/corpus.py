"""A deterministic corpus of N articles: the sample feed's sentences recombined, with the equity names
in them swapped for names drawn from the instrument table.

Article i depends only on (seed, i), so any prefix of a large corpus is the small corpus, and the
generator streams: memory does not grow with N.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from benchmarks.common import ROOT, SAMPLE_FEED
from signals.feeds import Article

_ENDS = "。！？；!?;"
BASE_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class _Template:
    pieces: tuple[str, ...]  # text between slots; len(pieces) == slots + 1

    def fill(self, rng: random.Random, names: list[str]) -> str:
        out = [self.pieces[0]]
        for piece in self.pieces[1:]:
            out += [rng.choice(names), piece]
        return "".join(out)


@dataclass(frozen=True)
class _Material:
    titles: tuple[_Template, ...]
    sentences: tuple[_Template, ...]
    paragraph_sentences: tuple[int, ...]  # sentences per paragraph in the sample
    article_paragraphs: tuple[int, ...]  # paragraphs per article in the sample
    names: list[str]


def _sentences(paragraph: str) -> list[str]:
    out, start = [], 0
    for i, ch in enumerate(paragraph):
        if ch in _ENDS:
            out.append(paragraph[start:i + 1])
            start = i + 1
    if paragraph[start:].strip():
        out.append(paragraph[start:])
    return [s for s in out if s.strip()]


def _template(text: str, linker) -> _Template:
    """Cut ``text`` at its confidently linked equity mentions: each becomes a slot for another name."""
    pieces, pos = [], 0
    for m in linker.find(text):
        if m.instrument.kind == "equity" and m.confidence >= 0.8 and m.start >= pos:
            pieces.append(text[pos:m.start])
            pos = m.end
    pieces.append(text[pos:])
    return _Template(tuple(pieces))


@cache
def material() -> _Material:
    from signals.entities import Linker
    from signals.feeds import read_feeds

    linker = Linker.from_data()
    titles, sentences, per_paragraph, per_article = [], [], [], []
    for article in read_feeds([str(SAMPLE_FEED)]):
        titles.append(_template(article.title, linker))
        paragraphs = [p for p in article.body.split("\n\n") if p.strip()]
        per_article.append(len(paragraphs))
        for p in paragraphs:
            found = _sentences(p)
            per_paragraph.append(len(found))
            sentences.extend(_template(s, linker) for s in found)
    with (ROOT / "data" / "instruments" / "instruments.csv").open(encoding="utf-8", newline="") as f:
        names = sorted({row["name"] for row in csv.DictReader(f)
                        if row["kind"] == "equity" and not row["name"].isascii()})
    return _Material(tuple(titles), tuple(sentences), tuple(per_paragraph), tuple(per_article), names)


def article(i: int, seed: int = 0) -> Article:
    mat = material()
    rng = random.Random(seed * 1_000_003 + i)
    title = rng.choice(mat.titles).fill(rng, mat.names).strip()
    paragraphs = []
    for _ in range(rng.choice(mat.article_paragraphs)):
        n = rng.choice(mat.paragraph_sentences)
        paragraphs.append("".join(rng.choice(mat.sentences).fill(rng, mat.names) for _ in range(n)).strip())
    body = "\n\n".join(p for p in paragraphs if p)
    guid = f"bench-{seed}-{i}"
    return Article(
        id=hashlib.sha1(f"bench{guid}".encode()).hexdigest()[:16], source="bench", url=None, guid=guid,
        title=title, body=body, published_utc=BASE_TIME + dt.timedelta(minutes=7 * i),
        utc_offset_minutes=480, content_hash=hashlib.sha1((title + body).encode()).hexdigest(),
        feed="bench")


def articles(n: int, seed: int = 0) -> Iterator[Article]:
    for i in range(n):
        yield article(i, seed)


def text_bytes(a: Article) -> int:
    """UTF-8 bytes the extractor reads: title, blank line, body."""
    return len(a.title.encode()) + 2 + len(a.body.encode())


def write_feeds(directory: Path, n: int, *, per_file: int = 1000, seed: int = 0) -> int:
    """The corpus as RSS 2.0 files of ``per_file`` items; returns the bytes of article text written."""
    directory.mkdir(parents=True, exist_ok=True)
    total = 0
    for first in range(0, n, per_file):
        items = []
        for i in range(first, min(n, first + per_file)):
            a = article(i, seed)
            total += text_bytes(a)
            body = "".join(f"<p>{html.escape(p)}</p>" for p in a.body.split("\n\n"))
            date = a.published_utc.strftime("%a, %d %b %Y %H:%M:%S +0000")
            items.append(f"<item><title>{html.escape(a.title)}</title><guid>{a.guid}</guid>"
                         f"<pubDate>{date}</pubDate><description><![CDATA[{body}]]></description></item>")
        doc = ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>bench</title>'
               "<link>https://example.invalid/</link><description>bench</description>"
               + "".join(items) + "</channel></rss>\n")
        (directory / f"feed-{first // per_file:05d}.xml").write_text(doc, encoding="utf-8")
    return total
