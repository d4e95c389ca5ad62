"""Rebuild data/sample/wallstreetcn-2026-01-29.xml from a tag-stripped dump of the wallstreetcn feed.

The dump (see data/sample/SOURCES.md) is the feed with its XML tags removed: a header line
``<channel title> <channel link> <language>``, then per item

    <![CDATA[ title ]]> link first line of the description
    more description lines, paragraphs separated by blank lines
    ]]>
    author pubDate

The CDATA markers survived the stripping, so ``<![CDATA[`` starts an item and a line holding only
``]]>`` ends its description. Bullet lines (``  • text``) were ``<li>`` items and are rebuilt as lists.

The output is deterministic (no build timestamp), so re-running gives a byte-identical file.

    python scripts/build_sample_feed.py [--dump PATH] [--out PATH]
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "data" / "sample" / "wallstreetcn-2026-01-29.xml"
DEFAULT_DUMP = ROOT / "data" / "sample" / "seed" / "wallstreetcn-2026-01-29.txt"  # vendored copy

# "<![CDATA[ title ]]> https://link rest-of-first-description-line"
_ITEM_HEAD = re.compile(r"<!\[CDATA\[(?P<title>.*?)\]\]>\s+(?P<link>https?://\S+)[ \t]*(?P<first>.*)")
# "author Thu, 29 Jan 2026 21:52:24 +0800" on the line after the closing "]]>"
_AUTHOR_DATE = re.compile(
    r"(?P<author>.+?)\s+(?P<date>(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} \w{3} \d{4} [\d:]{8} [+-]\d{4})$"
)
_HEADER = re.compile(r"(?P<title>\S+)\s+(?P<link>https?://\S+)\s+(?P<language>\S+)\s*$")
_BULLET = "  • "


@dataclass(frozen=True)
class DumpItem:
    title: str  # stripped of the spaces the feed put inside the CDATA section
    link: str
    paragraphs: tuple[str, ...]  # one entry per <p>/<li>, bullets without their marker
    bullet: tuple[bool, ...]  # parallel to paragraphs: was this line a list item
    author: str
    pub_date: str  # exactly as written


@dataclass(frozen=True)
class DumpFeed:
    title: str
    link: str
    language: str
    items: tuple[DumpItem, ...]


def extract_items(text: str) -> DumpFeed:
    """Split the dump into channel metadata and items; raises ValueError on an unexpected layout."""
    header, _, rest = text.partition("<![CDATA[")
    channel = _HEADER.match(header)
    if channel is None:
        raise ValueError(f"unexpected channel header: {header[:80]!r}")
    chunks = ("<![CDATA[" + rest).split("<![CDATA[")[1:]
    items = tuple(_parse_item("<![CDATA[" + chunk, number) for number, chunk in enumerate(chunks, 1))
    return DumpFeed(channel["title"], channel["link"], channel["language"], items)


def _parse_item(chunk: str, number: int) -> DumpItem:
    description, sep, tail = chunk.rpartition("\n]]>\n")
    if not sep:
        raise ValueError(f"item {number}: no closing ']]>' line")
    head = _ITEM_HEAD.match(description)
    trailer = _AUTHOR_DATE.match(tail.strip())
    if head is None or trailer is None:
        raise ValueError(f"item {number}: unexpected layout near {chunk[:80]!r}")
    lines = [head["first"], *description[head.end():].split("\n")]
    kept = [line for line in lines if line.strip()]
    return DumpItem(
        title=head["title"].strip(),
        link=head["link"],
        paragraphs=tuple(line.removeprefix(_BULLET).strip() for line in kept),
        bullet=tuple(line.startswith(_BULLET) for line in kept),
        author=trailer["author"],
        pub_date=trailer["date"],
    )


def description_html(item: DumpItem) -> str:
    """Paragraphs as <p>, runs of bullet lines as one <ul>."""
    parts: list[str] = []
    in_list = False
    for text, is_bullet in zip(item.paragraphs, item.bullet, strict=True):
        if is_bullet != in_list:
            parts.append("<ul>" if is_bullet else "</ul>")
            in_list = is_bullet
        tag = "li" if is_bullet else "p"
        parts.append(f"<{tag}>{html.escape(text, quote=False)}</{tag}>")
    if in_list:
        parts.append("</ul>")
    return "\n".join(parts)


def render_rss(feed: DumpFeed) -> str:
    def esc(value: str) -> str:
        return html.escape(value, quote=True)

    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0">',
        "<channel>",
        f"<title>{esc(feed.title)}</title>",
        f"<link>{esc(feed.link)}</link>",
        # RSS 2.0 requires a channel description; the dump shows none, so it stays empty.
        "<description></description>",
        f"<language>{esc(feed.language)}</language>",
    ]
    for item in feed.items:
        out += [
            "<item>",
            f"<title><![CDATA[ {item.title} ]]></title>",
            f"<link>{esc(item.link)}</link>",
            f'<guid isPermaLink="true">{esc(item.link)}</guid>',
            f"<description><![CDATA[{description_html(item)}]]></description>",
            f"<author>{esc(item.author)}</author>",
            f"<pubDate>{esc(item.pub_date)}</pubDate>",
            "</item>",
        ]
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out)


def build(dump: Path, out: Path) -> DumpFeed:
    feed = extract_items(dump.read_text(encoding="utf-8"))
    for item in feed.items:
        if "]]>" in item.title or any("]]>" in p for p in item.paragraphs):
            raise ValueError(f"{item.link}: text contains ']]>' and cannot sit in a CDATA section")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(render_rss(feed).encode("utf-8"))
    return feed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", type=Path, default=DEFAULT_DUMP)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        feed = build(args.dump, args.out)
    except (OSError, ValueError) as err:
        print(f"build_sample_feed: {err}", file=sys.stderr)
        return 2
    print(f"wrote {len(feed.items)} items to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
