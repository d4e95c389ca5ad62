"""Read RSS 2.0, RSS 1.0/RDF and Atom feeds from files, globs, directories, stdin and URLs.

A document up to ``STREAM_BYTES`` (16 MB) is read whole before any of its articles is yielded: such a
feed yields all its articles or raises ``FeedError`` first. The pipeline for one document:

1. decode with the declared (or BOM / HTTP) encoding and re-encode as UTF-8, because expat cannot
   read GBK/GB18030, which Chinese publishers still use;
2. parse once with defusedxml, which refuses entity declarations (billion laughs) and external
   entities (XXE), and reports malformed XML with its line;
3. map the RSS/RDF/Atom dialects onto one entry shape with feedparser's rules;
4. turn HTML into plain paragraphs and parse dates ourselves (feedparser's ``*_parsed`` fields read a
   zone-less date as UTC and ``CST`` as US Central).

RSS 2.0 documents, the common case, go through our own item mapper instead of feedparser itself: the
decoding runs chunk by chunk into the same defused expat parser, and each ``<item>`` becomes an article
when it closes. Items are mapped with feedparser's own field rules (which element wins, when a plain
title is HTML, the link and guid fix-ups) and any item with an element outside the common RSS 2.0 set
is handed to feedparser itself, so both give the same articles, warnings and errors (tested on every
fixture and on random items). HTML made only of bare tags (``<p>``, ``<li>``, no attributes) and plain
entities, what wallstreetcn sends, skips feedparser's sanitizer and html.parser: its text is the same
either way (property-tested), at a fraction of the cost. The mapper reads ~1.5x as many articles per
second as feedparser, and a larger document streams with it: feedparser holds the whole document and
every entry (a 49 MB feed took 160 MB and 6.7 s). A streamed document (above ``STREAM_BYTES``) can
raise ``FeedError`` after some of its articles were yielded (``api.extract_feeds`` commits whole
batches, see docs/reliability.md); it yields a repeated guid twice (the store keeps the later copy, as
a whole document does) and reports control characters and HTML entities after its items. Atom and RSS
1.0 documents up to ``STREAM_BYTES`` are read whole by feedparser (``parse_feed_bytes``, also the
reference the mapper is tested against); larger ones stream too: each entry is built as it closes and
read by feedparser in a copy of the document element with the feed's title and link, a few hundred
entries a call (``_entry_items``), so memory stays flat for them as well.
"""

from __future__ import annotations

import codecs
import glob
import gzip
import hashlib
import html
import html.entities
import http.client
import io
import itertools
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, BinaryIO
from xml.etree.ElementTree import Element, TreeBuilder, tostring
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import feedparser
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.sanitizer import _sanitize_html
from feedparser.urls import _urljoin

from signals.errors import FeedError

__all__ = ["FEED_SUFFIXES", "MAX_ITEM_CHARS", "MAX_ITEM_ELEMENTS", "MAX_TEXT_CHARS", "MAX_TITLE_CHARS",
           "STREAM_BYTES", "URL_MAX_BYTES", "Article", "html_to_text", "local_input_bytes", "parse_date",
           "parse_feed_bytes", "read_feeds"]

Warn = Callable[[str], None]

FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")
_FEED_ROOTS = {"rss", "RDF", "feed"}  # local names of RSS 2.0 / RSS 1.0 / Atom document elements
STREAM_BYTES = 16 * 2**20  # inputs larger than this are parsed item by item
URL_MAX_BYTES = 50_000_000  # a URL must not feed us without end
# One item's text is cut to this many characters (its title to MAX_TITLE_CHARS), at the last sentence
# end (else word end) before the cut: extraction holds every candidate event of an article until it
# dedupes them, so a 58 MB item of repeated news took 5 minutes and 6.2 GB. The longest article of
# the sample has 36,233 characters.
MAX_TEXT_CHARS = 200_000
MAX_TITLE_CHARS = 1_000
# A streamed document keeps at most this many characters and elements of one item (or channel field)
# and reads past the rest: a 1.5 MB .xml.gz of one <description> of 1.5 GB of spaces took 3.2 GB
# before its text was cut, and a 40 KB one of an item of 10,000,000 empty elements 1.4 GB and 150 s.
MAX_ITEM_CHARS = 16 * 2**20
MAX_ITEM_ELEMENTS = 50_000
# Where a text may be cut: after 。！？!?；; or a '.' that whitespace follows (3.5 and example.com hold
# one that is no sentence end), with the closing quotes or brackets after it; or at a line break
_CLOSERS = "\"'”’)）]」』"
_SENTENCE_END = re.compile(rf"(?:[。！？!?；;]|\.(?=[{re.escape(_CLOSERS)}]*\s))[{re.escape(_CLOSERS)}]*|\n")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Article:
    id: str
    source: str
    url: str | None
    guid: str | None
    title: str
    body: str
    published_utc: datetime | None
    utc_offset_minutes: int | None
    content_hash: str
    feed: str


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def read_feeds(
    inputs: str | Path | Iterable[str | Path],
    *,
    default_tz: str = "Asia/Shanghai",
    on_warning: Warn | None = None,
    timeout: float = 20.0,
    max_bytes: int | None = None,
    stream_bytes: int | None = None,
) -> Iterator[Article]:
    """Yield the articles of every input, one document at a time.

    ``inputs`` are file paths, glob patterns, directories (their *.xml/*.rss/*.atom/*.rdf files and
    the same gzipped, *.xml.gz, sorted, not recursive), ``"-"`` for stdin, or http(s) URLs; gzip
    compressed files and stdin are decompressed as they are read. Raises ``FeedError`` for an input
    that cannot be read or parsed: before yielding any of its articles when it is at most
    ``stream_bytes`` long, possibly after some of them when a longer RSS 2.0 input is streamed.
    ``max_bytes`` caps every input (URLs are always capped, at ``URL_MAX_BYTES`` unless smaller);
    a URL must answer completely within ``timeout`` seconds. ``stream_bytes`` defaults to
    ``STREAM_BYTES``.
    """
    zone = _zone(default_tz)  # a bad zone name is a usage error, reported before any work
    stream_bytes = STREAM_BYTES if stream_bytes is None else stream_bytes
    warn = on_warning or (lambda _message: None)
    for name, opener in _expand_inputs(inputs, timeout=timeout, max_bytes=max_bytes):
        with opener() as (handle, charset):
            head = _read_up_to(handle, max(stream_bytes + 1, 1 << 16))
            root = _root_name(head, charset)
            if root == "rss":
                items = _rss_items(_Prefixed(head, handle), source_name=name, zone=zone, warn=warn,
                                   fallback_encoding=charset)
                if len(head) > stream_bytes:
                    yield from (article for _, article in items)
                else:  # read whole: all its articles or its error, nothing of it before
                    yield from _unique(items, name, warn)
                continue
            if root in _ENTRY_TAGS and len(head) > stream_bytes:
                entries = _entry_items(_Prefixed(head, handle), source_name=name, zone=zone, warn=warn,
                                       fallback_encoding=charset)
                yield from entries
                continue
            # neither RSS 2.0 nor Atom / RSS 1.0 (feedparser's other formats, a web page, no XML at all):
            # read whole, so at most STREAM_BYTES of it. A feed named z.xml linked to /dev/zero, or any
            # huge file, was read to the end (`unexpected MemoryError`, or the machine out of memory).
            # An Atom / RSS 1.0 document here is already whole in head (at most stream_bytes, which a
            # caller may set above STREAM_BYTES): it was refused as no feed
            data = head + _read_up_to(handle, STREAM_BYTES + 1 - len(head))
            if len(data) > STREAM_BYTES and root not in _ENTRY_TAGS:
                element = f"its document element is <{root}>" if root else "no document element was found"
                raise FeedError(f"larger than {STREAM_BYTES:,} bytes and not an RSS 2.0, Atom or RSS 1.0 "
                                f"feed ({element})", source=name,
                                hint="only those are read item by item; check that this is the feed")
        yield from parse_feed_bytes(data, source_name=name, default_tz=default_tz, on_warning=on_warning,
                                    fallback_encoding=charset)


def _read_up_to(handle: Any, limit: int) -> bytes:
    # in chunks: read(n) allocates n bytes up front
    pieces, size = [], 0
    while size < limit and (piece := handle.read(min(_CHUNK, limit - size))):
        pieces.append(piece)
        size += len(piece)
    return b"".join(pieces)


Opener = Callable[[], AbstractContextManager[tuple[BinaryIO, str | None]]]
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def _expand_inputs(
    inputs: str | Path | Iterable[str | Path], *, timeout: float, max_bytes: int | None
) -> Iterator[tuple[str, Opener]]:
    """Resolve inputs, in order, to (name, opener) pairs; an opener yields (binary handle, charset).

    Resolution and opening are lazy, so the articles of earlier inputs reach the caller before a
    later input turns out to be missing or broken.
    """
    if isinstance(inputs, str | Path):
        inputs = [inputs]
    inputs = list(inputs)
    if sum(str(raw) == "-" for raw in inputs) > 1:  # the second read would find it empty
        raise FeedError("stdin is named more than once", source="<stdin>", hint="give - once")
    for raw in inputs:
        spec = str(raw)
        if spec == "-":
            stdin = _Capped(_gunzipped(sys.stdin.buffer), "<stdin>", max_bytes)
            yield "<stdin>", lambda s=stdin: nullcontext((s, None))
        elif scheme := _URL_SCHEME.match(spec):
            if scheme.group(1).lower() not in ("http", "https"):
                raise FeedError("only http:// and https:// URLs can be fetched", source=spec)
            cap = min(max_bytes or URL_MAX_BYTES, URL_MAX_BYTES)
            yield spec, lambda url=spec, cap=cap: _fetch_url(url, timeout=timeout, max_bytes=cap)
        else:
            for path in _expand_path(spec):
                yield str(path), lambda p=path: _open_file(p, max_bytes)


def local_input_bytes(inputs: str | Path | Iterable[str | Path]) -> int:
    """Bytes of the local files among ``inputs``; URLs, stdin and unusable paths count 0. A cheap
    guess, before anything is read, at how much work is coming (``read_feeds`` reports bad inputs)."""
    total = 0
    for raw in [inputs] if isinstance(inputs, str | Path) else inputs:
        spec = str(raw)
        if spec != "-" and not _URL_SCHEME.match(spec):
            with suppress(FeedError, OSError):
                total += sum(path.stat().st_size for path in _expand_path(spec))
    return total


def _expand_path(spec: str) -> list[Path]:
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and _is_feed_name(p))
        if not files:
            raise FeedError(f"directory holds no {'/'.join(FEED_SUFFIXES)} files", source=spec)
        return files
    if path.exists():
        return [path]
    if glob.has_magic(spec):
        matches = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
        if not matches:
            raise FeedError("no files match this pattern", source=spec)
        return matches
    raise FeedError("no such file or directory", source=spec)


def _is_feed_name(path: Path) -> bool:
    """feed.xml, and feed.xml.gz: archives of feeds are often kept compressed."""
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return bool(suffixes) and suffixes[-1] in FEED_SUFFIXES


_GZIP_MAGIC = b"\x1f\x8b"


def _gunzipped(handle: Any) -> Any:
    """``handle``, decompressed when it starts like gzip (a .gz file, or `zcat`-less stdin): read
    caps then apply to the feed, not to the compressed bytes, so a small bomb cannot fill memory."""
    head = handle.peek(2)[:2] if hasattr(handle, "peek") else b""
    return gzip.GzipFile(fileobj=handle, mode="rb") if head == _GZIP_MAGIC else handle


@contextmanager
def _open_file(path: Path, max_bytes: int | None) -> Iterator[tuple[BinaryIO, str | None]]:
    try:
        handle = path.open("rb")
    except OSError as err:
        raise FeedError(f"cannot read: {err.strerror or err}", source=str(path)) from err
    with handle:
        yield _Capped(_gunzipped(handle), str(path), max_bytes), None


class _Capped:
    """A binary reader that refuses to go past ``max_bytes`` or a deadline, and turns read failures
    (I/O errors, connection resets, bad gzip) into ``FeedError``."""

    def __init__(self, handle: Any, source: str, max_bytes: int | None, *, deadline: float | None = None,
                 timeout: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.handle, self.source, self.max_bytes = handle, source, max_bytes
        self.deadline, self.timeout, self.clock, self.total = deadline, timeout, clock, 0

    def read(self, size: int = -1) -> bytes:
        if self.max_bytes is not None and (size < 0 or size > self.max_bytes + 1 - self.total):
            size = self.max_bytes + 1 - self.total
        try:
            data = self.handle.read(size) if size >= 0 else self.handle.read()
        except TimeoutError as err:
            raise FeedError(f"no answer within {self.timeout:g} s", source=self.source) from err
        except (OSError, EOFError, ValueError, http.client.HTTPException) as err:
            raise FeedError(f"cannot read: {err or type(err).__name__}", source=self.source) from err
        self.total += len(data)
        if self.max_bytes is not None and self.total > self.max_bytes:
            raise FeedError(f"larger than the {self.max_bytes:,}-byte limit", source=self.source,
                            hint="raise max_bytes if this feed is genuinely that large")
        if self.deadline is not None and self.clock() > self.deadline:
            raise FeedError(f"not complete within {self.timeout:g} s", source=self.source,
                            hint="the server is too slow; try again later")
        return data


class _Prefixed:
    """Bytes already read, then the rest of a reader."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self.head, self.rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:  # the whole rest, like any file object
            data, self.head = self.head + self.rest.read(), b""
            return data
        if self.head:
            data, self.head = self.head[:size], self.head[size:]
            return data
        return self.rest.read(size)


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect must not lead a fetch to ftp:// or file://."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise FeedError(f"redirected to a non-HTTP URL {newurl}", source=req.full_url)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@contextmanager
def _fetch_url(url: str, *, timeout: float, max_bytes: int) -> Iterator[tuple[BinaryIO, str | None]]:
    """GET a feed; yields a reader capped at ``max_bytes`` that must finish within ``timeout`` s
    (the socket timeout alone lets a server that drips one byte at a time hold us forever)."""
    headers = {
        "User-Agent": "signals/0.1 (feed reader)",
        "Accept": "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, "
                  "text/xml;q=0.9, */*;q=0.1",
    }
    opener = urllib.request.build_opener(_HttpOnlyRedirects)
    deadline = time.monotonic() + timeout
    try:
        response = opener.open(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as err:
        raise FeedError(f"HTTP {err.code} {err.reason}", source=url) from err
    except urllib.error.URLError as err:
        raise FeedError(f"cannot fetch: {err.reason}", source=url,
                        hint="check the URL and your network connection") from err
    except TimeoutError as err:
        raise FeedError(f"no answer within {timeout:g} s", source=url) from err
    except (OSError, EOFError, ValueError, http.client.HTTPException) as err:  # resets, bad URL
        raise FeedError(f"cannot fetch: {err or type(err).__name__}", source=url) from err
    with response:
        body: Any = _Capped(response, url, max_bytes, deadline=deadline, timeout=timeout)
        if response.headers.get("Content-Encoding", "").lower() == "gzip":
            body = _Capped(gzip.GzipFile(fileobj=body), url, max_bytes, deadline=deadline, timeout=timeout)
        content_type = response.headers.get_content_type()
        head = body.read(1024)
        if head[:2] == _GZIP_MAGIC:  # a .xml.gz file served as it is (no Content-Encoding): as for files,
            # read decompressed and capped after it (it failed: `not valid utf-8 text (byte offset 1)`)
            body = _Capped(gzip.GzipFile(fileobj=_Prefixed(head, body)), url, max_bytes, deadline=deadline,
                           timeout=timeout)
            head = body.read(1024)
        if "html" in content_type and _looks_like_html(head):
            raise FeedError(f"the server returned an HTML page ({content_type}), not a feed", source=url,
                            hint="use the feed's own URL (often linked as RSS on the page)")
        yield _Prefixed(head, body), response.headers.get_content_charset()


def _looks_like_html(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


# --------------------------------------------------------------------------------------------
# One document
# --------------------------------------------------------------------------------------------


def parse_feed_bytes(
    data: bytes,
    *,
    source_name: str,
    default_tz: str = "Asia/Shanghai",
    on_warning: Warn | None = None,
    fallback_encoding: str | None = None,
) -> list[Article]:
    """Parse one feed document into articles; raises ``FeedError`` and nothing else on bad input.

    ``source_name`` is the file or URL the bytes came from: it names errors and fills
    ``Article.feed``. ``fallback_encoding`` (an HTTP charset) applies when the document declares none.
    """
    warn = on_warning or (lambda _message: None)
    zone = _zone(default_tz)
    if _looks_like_html(data):
        raise FeedError("this is an HTML page, not a feed", source=source_name,
                        hint="use the feed's own URL or file (often linked as RSS on the page)")
    text = _decode(data, source_name, fallback_encoding, warn)
    text, html_entities = _replace_html_entities(text)
    if html_entities:
        names = " ".join(f"&{name};" for name in sorted(html_entities))
        warn(f"{source_name}: uses HTML entities that XML does not define ({names}); read them as HTML")
    # UTF-8 from here on, so the declaration must say so or expat would decode it a second time.
    utf8 = _DECLARATION_ENCODING.sub(r"\g<1>utf-8\g<3>", text, count=1).encode("utf-8")
    _vet_xml(utf8, source_name)
    parsed = _run_feedparser(utf8, source_name)
    return _articles(parsed, source_name, zone, warn)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise FeedError(f"unknown time zone {name!r} for feed dates written without one",
                        source="--tz", hint="use an IANA name such as Asia/Shanghai") from err


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_DECLARATION_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?\bencoding\s*=\s*["'])([A-Za-z0-9._:-]+)(["'])""")
# C0 controls are illegal in XML 1.0; a stray one should not cost a whole feed.
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ENTITY_REFERENCE = re.compile(r"&([A-Za-z][A-Za-z0-9]{1,31});")
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_EXPAT_UNDEFINED_ENTITY = 11
# GB2312 and GBK labels are routinely used for text with characters only GB18030 (a superset) has.
_ENCODING_UPGRADES = {"gb2312": "gb18030", "gbk": "gb18030", "euc_cn": "gb18030"}


def _decode(data: bytes, source: str, fallback: str | None, warn: Warn) -> str:
    """Decode with the BOM, the XML declaration, the HTTP charset or UTF-8 (in that order)."""
    if not data.strip():
        raise FeedError("empty file", source=source)
    encoding = _sniff_encoding(data) or fallback or "utf-8"
    try:
        codec = codecs.lookup(encoding).name
    except LookupError as err:
        raise FeedError(f"unknown character encoding {encoding!r}", source=source) from err
    codec = _ENCODING_UPGRADES.get(codec, codec)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise FeedError(f"not valid {encoding} text (byte offset {err.start})", source=source, line=line,
                        hint="the file is binary, truncated or mislabelled; check its encoding") from err
    text, removed = _CONTROL_CHARS.subn("", text)
    if removed:
        warn(f"{source}: removed {removed} control character(s) that XML does not allow")
    return text


def _replace_html_entities(text: str) -> tuple[str, set[str]]:
    """Rewrite undeclared HTML entities (``&nbsp;``) as character references; return the names seen.

    Feeds use them although XML knows only five named entities; as numeric references they mean the
    same and keep the document well-formed, so it can be vetted and parsed strictly to the end.
    """
    used: set[str] = set()

    def numeric(match: re.Match[str]) -> str:
        name = match.group(1)
        replacement = html.entities.html5.get(name + ";")
        if name in _XML_ENTITIES or replacement is None:
            return match.group(0)  # XML's own, or unknown: expat will judge it
        used.add(name)
        return "".join(f"&#{ord(char)};" for char in replacement)

    return _ENTITY_REFERENCE.sub(numeric, text), used


def _sniff_encoding(data: bytes) -> str | None:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    if data.startswith(b"<\x00"):
        return "utf-16-le"
    if data.startswith(b"\x00<"):
        return "utf-16-be"
    declared = _DECLARED_ENCODING.match(data[:512])
    return declared.group(1).decode("ascii") if declared else None


class _RootOnly:
    """ElementTree target that keeps only the document element's name: vetting builds no tree."""

    def __init__(self) -> None:
        self.root: str | None = None

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self.root is None:
            self.root = tag.rpartition("}")[2]

    def end(self, tag: str) -> None:
        pass

    def data(self, data: str) -> None:
        pass

    def close(self) -> None:
        pass


def _vet_xml(data: bytes, source: str) -> None:
    """Refuse hostile or malformed XML and documents that are not feeds."""
    target = _RootOnly()
    parser = _defused_parser(target)
    try:
        parser.feed(data)
        parser.close()
    except (DefusedXmlException, ParseError) as err:
        raise _xml_error(err, parser, source, data) from err
    if target.root not in _FEED_ROOTS:
        raise FeedError(f"not an RSS or Atom feed (document element <{target.root}>)", source=source,
                        hint="an HTML page is not a feed; use the feed's own URL or file")


def _defused_parser(target: Any) -> DefusedXMLParser:
    return DefusedXMLParser(target=target, forbid_dtd=False, forbid_entities=True, forbid_external=True)


def _xml_error(err: Exception, parser: DefusedXMLParser, source: str, data: bytes | None) -> FeedError:
    """The ``FeedError`` for what expat or defusedxml refused; ``data`` (when whole) lets an
    undefined-entity error quote the entity."""
    if isinstance(err, DefusedXmlException):
        return FeedError(f"refused unsafe XML: {_describe_unsafe(err)}", source=source,
                         line=parser.parser.CurrentLineNumber,
                         hint="feeds must not declare entities or load external resources; "
                              "this is how entity-expansion and XXE attacks work")
    assert isinstance(err, ParseError)
    line = err.position[0] if err.position else None
    message = re.sub(r":\s*line \d+, column \d+$", "", str(err))
    if err.code == _EXPAT_UNDEFINED_ENTITY and err.position and data is not None:
        message += " " + _text_at(data, *err.position, pattern=r"&[^;\s]{1,40};?")
    return FeedError(f"malformed XML: {message}", source=source, line=line,
                     hint="the file is not well-formed XML; re-download it or fix the line shown")


def _text_at(data: bytes, line: int, column: int, *, pattern: str) -> str:
    """What ``pattern`` matches at expat's (1-based line, 0-based column), to quote in an error."""
    lines = data.split(b"\n", line)
    text = lines[line - 1].decode("utf-8", "replace")[column:] if len(lines) >= line else ""
    match = re.match(pattern, text)
    return match.group(0) if match else ""


def _describe_unsafe(err: DefusedXmlException) -> str:
    name = getattr(err, "name", None)
    system_id = getattr(err, "sysid", None) or getattr(err, "system_id", None)
    what = f"declares the entity {name!r}" if name else "refers to an external resource"
    return what + (f" loaded from {system_id}" if system_id else "")


def _run_feedparser(data: bytes, source: str) -> Any:
    # A stream, never bytes or str: feedparser treats a str or bytes that names a file as a path.
    headers = {"content-type": "application/xml; charset=utf-8"}
    try:
        parsed = feedparser.parse(io.BytesIO(data), response_headers=headers, sanitize_html=True,
                                  resolve_relative_uris=False)
    except Exception as err:  # a third-party parser crash on odd input is still a bad feed, not a bug
        raise FeedError(f"feed parser failed: {type(err).__name__}: {err}", source=source) from err
    problem = parsed.get("bozo_exception")
    if parsed.get("bozo") and not parsed.entries and not _is_benign(problem):
        line = problem.getLineNumber() if hasattr(problem, "getLineNumber") else None
        raise FeedError(f"malformed feed: {problem}", source=source, line=line)
    return parsed


def _is_benign(problem: object) -> bool:
    benign = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
    return isinstance(problem, benign)


# --------------------------------------------------------------------------------------------
# Streaming: RSS 2.0 documents of any size, Atom and RSS 1.0 above STREAM_BYTES
# --------------------------------------------------------------------------------------------


def _root_name(head: bytes, charset: str | None) -> str | None:
    """Local name of the document element, read from the first bytes (None when not found)."""
    encoding = _sniff_encoding(head) or charset or "utf-8"
    try:
        text = head[:1 << 16].decode(encoding, "replace")
    except LookupError:
        return None  # the whole-document path reports the unknown encoding
    at = 0
    while True:
        at = len(text) - len(text[at:].lstrip(" \t\r\n\ufeff"))
        if text.startswith(("<?", "<!--"), at):
            close = text.find("?>" if text[at + 1] == "?" else "-->", at)
        elif text.startswith("<!", at):
            bracket, close = text.find("[", at), text.find(">", at)
            if -1 < bracket < close:
                close = text.find("]>", bracket)
        else:
            match = re.match(r"<([A-Za-z_][\w.:-]*)", text[at:])
            return match.group(1).rpartition(":")[2] if match else None
        if close < 0:
            return None
        at = close + 2


def _utf8_chunks(handle: Any, source: str, fallback: str | None, warn: Warn) -> Iterator[bytes]:
    """``_decode`` and ``_replace_html_entities`` chunk by chunk: the document as UTF-8 pieces."""
    data = handle.read(_CHUNK)
    encoding = _sniff_encoding(data) or fallback or "utf-8"
    try:
        codec = codecs.lookup(encoding).name
    except LookupError as err:
        raise FeedError(f"unknown character encoding {encoding!r}", source=source) from err
    decoder = codecs.getincrementaldecoder(_ENCODING_UPGRADES.get(codec, codec))()
    offset = lines = removed = 0
    entities: set[str] = set()
    carry = ""
    first = True
    while True:
        final = not data
        try:
            text = carry + decoder.decode(data, final=final)
        except UnicodeDecodeError as err:
            start = max(err.start, 0)
            raise FeedError(f"not valid {encoding} text (byte offset {offset + start})", source=source,
                            line=lines + data[:start].count(b"\n") + 1,
                            hint="the file is binary, truncated or mislabelled; check its encoding") from err
        offset += len(data)
        lines += data.count(b"\n")
        carry = "" if final else _entity_tail(text)
        text = text[: len(text) - len(carry)]
        text, n = _CONTROL_CHARS.subn("", text)
        removed += n
        text, used = _replace_html_entities(text)
        entities |= used
        if first:
            text = _DECLARATION_ENCODING.sub(r"\g<1>utf-8\g<3>", text, count=1)
            first = False
        if text:
            yield text.encode("utf-8")
        if final:
            break
        data = handle.read(_CHUNK)
    if removed:
        warn(f"{source}: removed {removed} control character(s) that XML does not allow")
    if entities:
        names = " ".join(f"&{name};" for name in sorted(entities))
        warn(f"{source}: uses HTML entities that XML does not define ({names}); read them as HTML")


def _entity_tail(text: str) -> str:
    """An entity reference cut by the chunk boundary, kept back for the next chunk."""
    amp = text.rfind("&", -34)
    return text[amp:] if amp >= 0 and ";" not in text[amp:] else ""


class _ItemCollector:
    """expat target: builds each ``<item>`` as an Element (and nothing else), notes the channel's
    title and link as they pass, and checks the document element."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.depth = 0
        self.items: list[tuple[Element, str]] = []  # finished items with the xml:base they were read under
        self.title: dict[str, str] | None = None  # channel title detail, feedparser-style
        self.title_final = False
        self.link: str | None = None
        self._builder: TreeBuilder | None = None
        self._item_depth = 0
        self._field: tuple[str, dict[str, str], list[str]] | None = None
        self._bases = [""]
        self._budget = _Budget()  # of the item or channel field being read
        self._skip_from = 0  # depth where an element left out of an item began (0: none)
        self.warnings: list[str] = []  # for the caller to pass on
        self._items_seen = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.depth += 1
        if self._skip_from:
            self._budget.elements += 1
            return
        if self._builder is not None and not self._budget.admit():
            self._skip_from = self.depth
            return
        base = attrib.get(_XML_BASE)
        self._bases.append(_urljoin(self._bases[-1], base) if base else self._bases[-1])
        if self._builder is not None:
            self._builder.start(tag, attrib)
        elif tag == "item":
            self._builder, self._item_depth = TreeBuilder(), self.depth
            self._budget.reset()
            self._items_seen += 1
            self._builder.start(tag, attrib)
        elif self.depth == 1 and tag.rpartition("}")[2] != "rss":
            raise FeedError(f"not an RSS feed (document element <{tag}>)", source=self.source)
        elif self.depth == 3:
            self._field = (tag, attrib, [])
            self._budget.reset()
        elif self.depth == 4 and self._field is not None:  # <image><title>: feedparser unblocks titles
            self._field = None
            self.title_final = False

    def end(self, tag: str) -> None:
        if self._skip_from:
            self._skip_from = 0 if self.depth == self._skip_from else self._skip_from
            self.depth -= 1
            return
        if self._builder is not None:
            self._builder.end(tag)
            if self.depth == self._item_depth:
                self.items.append((self._builder.close(), self._bases[-2]))
                self._builder = None
                self._budget.report(self.source, f"item {self._items_seen}", self.warnings)
        elif self.depth == 3 and self._field is not None:
            self._channel_field(*self._field)
            self._field = None
            self._budget.report(self.source, f"the channel's <{_local(tag)}>", self.warnings)
        self._bases.pop()
        self.depth -= 1

    def data(self, data: str) -> None:
        if self._skip_from:
            return
        if self._builder is not None:
            self._builder.data(self._budget.keep(data))
        elif self._field is not None:
            self._field[2].append(self._budget.keep(data))

    def close(self) -> None:
        pass

    def _channel_field(self, tag: str, attrib: dict[str, str], pieces: list[str]) -> None:
        kind = _RSS_FIELDS.get(tag)
        if kind == "title" and not self.title_final:
            value, kind_type = _fp_text("".join(pieces), plain=True)
            self.title = {"value": value, "type": kind_type}
            self.title_final = bool(value) and tag != _MEDIA_TITLE
        elif kind == "link" and not attrib:
            self.link = _fp_link(_fp_text("".join(pieces), base=self._bases[-1])[0])
        elif tag == f"{{{_ATOM}}}link" and attrib.get("href") and _is_alternate(attrib):
            self.link = _urljoin(self._bases[-1], attrib["href"])


class _Budget:
    """What one streamed item (or feed field) may keep: ``MAX_ITEM_CHARS`` characters of data and
    ``MAX_ITEM_ELEMENTS`` elements; the rest is read past, and ``report`` says so."""

    def __init__(self) -> None:
        self.chars = self.elements = 0

    def reset(self) -> None:
        self.chars = self.elements = 0

    def keep(self, data: str) -> str:
        room = MAX_ITEM_CHARS - self.chars
        self.chars += len(data)
        return data if len(data) <= room else data[:max(room, 0)]

    def admit(self) -> bool:
        self.elements += 1
        return self.elements <= MAX_ITEM_ELEMENTS

    def report(self, source: str, what: str, warnings: list[str]) -> None:
        over = []
        if self.chars > MAX_ITEM_CHARS:
            over.append(f"{self.chars:,} characters (the first {MAX_ITEM_CHARS:,} were read: "
                        "feeds.MAX_ITEM_CHARS)")
        if self.elements > MAX_ITEM_ELEMENTS:
            over.append(f"{self.elements:,} elements (the first {MAX_ITEM_ELEMENTS:,} were read: "
                        "feeds.MAX_ITEM_ELEMENTS)")
        if over:
            warnings.append(f"{source}: {what} holds {' and '.join(over)}")


def _is_alternate(attrib: dict[str, str]) -> bool:
    return attrib.get("rel", "alternate") == "alternate" and attrib.get("type", "text/html") in _HTML_TYPES


def _rss_items(handle: Any, *, source_name: str, zone: ZoneInfo, warn: Warn,
               fallback_encoding: str | None) -> Iterator[tuple[int, Article]]:
    """(item number, article) of an RSS 2.0 document, each as soon as its ``</item>`` has been read."""
    collector = _ItemCollector(source_name)
    number = 0
    channel: tuple[Any, ...] = ()
    for _ in _parse_chunks(collector, handle, source_name, fallback_encoding, warn):
        for message in collector.warnings:
            warn(message)
        collector.warnings.clear()
        for item, base in collector.items:
            number += 1
            if channel[:2] != (collector.title, collector.link):  # the channel's title or link changed
                label = _source_label({"title_detail": collector.title, "link": collector.link}, source_name)
                channel = (collector.title, collector.link, label)
            source = channel[2]
            entry = _rss_entry(item, base) or _feedparser_entry(item, base, source_name)
            article = _article(entry, number, source, source_name, zone, warn) if entry is not None else None
            if article is not None:
                yield number, article
        collector.items.clear()


def _parse_chunks(target: Any, handle: Any, source: str, fallback_encoding: str | None,
                  warn: Warn) -> Iterator[None]:
    """Feed the document to a defused expat parser with ``target``, chunk by chunk; yields after each
    chunk so the caller can take what the target collected."""
    parser = _defused_parser(target)
    try:
        for chunk in _utf8_chunks(handle, source, fallback_encoding, warn):
            parser.feed(chunk)
            yield
        parser.close()
    except (DefusedXmlException, ParseError) as err:
        raise _xml_error(err, parser, source, None) from err
    yield


# Atom and RSS 1.0 documents above STREAM_BYTES: each entry is read by feedparser on its own, inside
# a copy of the document element (its xml:base, xml:lang, namespaces) and the feed's title and link,
# so it is read as it would be inside the whole document.
_ENTRY_TAGS = {"feed": "entry", "RDF": "item"}  # document element -> its entries (local names)
_FEED_FIELDS = frozenset({"title", "link"})  # all an article takes from the feed: its source label
# A feed names itself in a few elements; a document repeating them without end is not kept whole.
_MAX_FEED_ELEMENTS = 64


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


class _EntryCollector:
    """expat target for Atom and RSS 1.0: builds each entry (a child of the document element) as an
    Element, and the elements that carry the feed's title and link (Atom: <title> and <link> children
    of <feed>; RSS 1.0: <channel> with only those children, not its list of every item)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.depth = 0
        self.root: Element | None = None
        self.feed: list[Element] = []  # the feed's title and link elements, in document order
        self.entries: list[tuple[Element, int]] = []  # with the number of feed elements before it
        self._entry = ""
        self._builder: TreeBuilder | None = None
        self._open = ""  # local name of the document element's child being built
        self._skip_from = 0  # depth where an element left out began (0: none)
        self._skip_counts = False  # whether what is left out counts against the budget (is past it)
        self._budget = _Budget()  # of the child being built
        self._entries_seen = 0
        self.warnings: list[str] = []  # for the caller to pass on

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.depth += 1
        if self._skip_from:
            # only what is past the budget counts: an RSS 1.0 <channel>'s list of every item (left out,
            # as not the feed's title or link) warned of 50,000 elements cut in a 60,000-item feed
            self._budget.elements += self._skip_counts
            return
        name = _local(tag)
        if self.depth == 1:
            if name not in _ENTRY_TAGS:
                raise FeedError(f"not an Atom or RSS 1.0 feed (document element <{tag}>)", source=self.source)
            self.root, self._entry = Element(tag, attrib), _ENTRY_TAGS[name]
        elif self.depth == 2 and self._keeps(name):
            self._builder, self._open = TreeBuilder(), name
            self._budget.reset()
            self._entries_seen += name == self._entry
            self._builder.start(tag, attrib)
        elif self.depth == 2 or (self.depth == 3 and self._open == "channel" and name not in _FEED_FIELDS):
            self._skip_from, self._skip_counts = self.depth, False  # left out
        elif not self._budget.admit():  # past the entry's budget
            self._skip_from, self._skip_counts = self.depth, True
        else:
            assert self._builder is not None
            self._builder.start(tag, attrib)

    def end(self, tag: str) -> None:
        if self._skip_from:
            self._skip_from = 0 if self.depth == self._skip_from else self._skip_from
        elif self._builder is not None:
            self._builder.end(tag)
            if self.depth == 2:
                element = self._builder.close()
                if self._open == self._entry:
                    self.entries.append((element, len(self.feed)))
                else:
                    self.feed.append(element)
                self._builder = None
                what = (f"{self._entry} {self._entries_seen}" if self._open == self._entry
                        else f"the feed's <{self._open}>")
                self._budget.report(self.source, what, self.warnings)
        self.depth -= 1

    def data(self, data: str) -> None:
        if self._builder is not None and not self._skip_from:
            self._builder.data(self._budget.keep(data))

    def close(self) -> None:
        pass

    def _keeps(self, name: str) -> bool:
        """Whether a child of the document element is built: an entry, or a feed field (up to a few)."""
        feed_field = name in _FEED_FIELDS or name == "channel"
        return name == self._entry or (feed_field and len(self.feed) < _MAX_FEED_ELEMENTS)


ENTRIES_PER_PARSE = 200  # one feedparser call per this many entries: ~0.5 ms less per entry than
# one call each, and feedparser's result for them (a few MB) is all a streamed document holds at once


def _entry_groups(entries: list[tuple[Element, int]]) -> Iterator[tuple[int, list[Element]]]:
    """Runs of at most ``ENTRIES_PER_PARSE`` entries read after the same feed fields."""
    for n_feed, run in itertools.groupby(entries, key=lambda e: e[1]):
        elements = [element for element, _ in run]
        for i in range(0, len(elements), ENTRIES_PER_PARSE):
            yield n_feed, elements[i:i + ENTRIES_PER_PARSE]


def _entry_items(handle: Any, *, source_name: str, zone: ZoneInfo, warn: Warn,
                 fallback_encoding: str | None) -> Iterator[Article]:
    """The articles of an Atom or RSS 1.0 document, each as soon as its entry has been read.

    A feed title or link that comes after some entries labels only the entries after it (the whole
    document would label them all)."""
    collector = _EntryCollector(source_name)
    number = 0
    for _ in _parse_chunks(collector, handle, source_name, fallback_encoding, warn):
        for message in collector.warnings:
            warn(message)
        collector.warnings.clear()
        for n_feed, group in _entry_groups(collector.entries):
            assert collector.root is not None  # entries are its children
            document = Element(collector.root.tag, collector.root.attrib)
            document.extend([*collector.feed[:n_feed], *group])
            parsed = _run_feedparser(tostring(document, encoding="utf-8", xml_declaration=True), source_name)
            label = _source_label(parsed.feed, source_name)
            for entry in parsed.entries:
                number += 1
                article = _article(entry, number, label, source_name, zone, warn)
                if article is not None:
                    yield article
        collector.entries.clear()


_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_ATOM = "http://www.w3.org/2005/Atom"
_DC = "http://purl.org/dc/elements/1.1/"
_DCTERMS = "http://purl.org/dc/terms/"
_MEDIA_TITLE = "{http://search.yahoo.com/mrss/}title"
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_C1_CONTROLS = re.compile("[\x80-\x9f]")  # what feedparser maps to their cp1252 characters
# Item elements feedparser maps onto the fields an Article uses, by what it does with them.
_RSS_FIELDS = {
    "title": "title", f"{{{_DC}}}title": "title", _MEDIA_TITLE: "title",
    "description": "description", f"{{{_DC}}}description": "description",
    "{http://search.yahoo.com/mrss/}description": "description",
    "{http://purl.org/rss/1.0/modules/content/}encoded": "content",
    "link": "link", "guid": "guid",
    "pubDate": "published", f"{{{_DCTERMS}}}issued": "published",
    f"{{{_DC}}}date": "updated", f"{{{_DCTERMS}}}modified": "updated",
    f"{{{_DCTERMS}}}created": "created",
    "source": "source",
}
# Item elements feedparser reads without touching those fields; any other element sends the item
# to feedparser itself (an <id>, <summary> or Atom element there would change them).
_RSS_INERT = frozenset({"author", "category", "comments", "enclosure", f"{{{_DC}}}creator",
                        f"{{{_DC}}}subject"})


# Bare tags (no attributes) that feedparser's sanitizer passes through, end tags of the void ones
# excepted (it drops </br>, html.parser reads it as a break). HTML made only of these, the XML
# entities, &nbsp; and numeric references has the same text sanitized or not (tests/test_feeds.py
# checks html_to_text of both on random such HTML), so it skips the sanitizer: that was ~40 % of
# the parent's CPU in extract (wallstreetcn's items are <p>, <ul> and <li> only).
_BARE_VOID = ("br", "hr", "col")
_BARE_TAGS = (
    "p", "div", "span", "ul", "ol", "li", "dl", "dt", "dd", "strong", "b", "em", "i", "u", "s", "small",
    "big", "sub", "sup", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code", "table",
    "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "colgroup", "cite", "abbr", "q", "del",
    "ins", "tt", "var", "center", "font", "strike", "label", "address",
)
_BARE_MARKUP = re.compile(
    rf"<(?:/(?:{'|'.join(_BARE_TAGS)})|(?:{'|'.join(_BARE_TAGS + _BARE_VOID)})(?: ?/)?)>"
    r"|&(?:amp|lt|gt|quot|nbsp|#[0-9]+|#x[0-9a-fA-F]+);")


def _is_bare_html(value: str) -> bool:
    rest = _BARE_MARKUP.sub("", value)
    return "<" not in rest and "&" not in rest


def _fp_text(raw: str, *, plain: bool = False, html: bool = False, base: str | None = None,
             sanitize: bool = False) -> tuple[str, str]:
    """What feedparser's ``pop`` makes of an element's text: (value, content type). HTML goes
    through feedparser's sanitizer unless it is bare (``_is_bare_html``); ``sanitize=True`` always."""
    value = raw.strip()
    kind = "text/plain" if plain else "text/html" if html else ""
    if base is not None and value:
        value = _urljoin(base, value)
    markup = "<" in value or "&" in value  # cheap test first: most items are plain text
    if plain and markup and _FeedParserMixin.looks_like_html(value):
        kind = "text/html"
    if kind == "text/html" and markup and (sanitize or not _is_bare_html(value)):
        value = _sanitize_html(value, "utf-8", kind)
    with suppress(UnicodeEncodeError, UnicodeDecodeError):  # feedparser's repair of UTF-8 read as Latin-1
        value = value.encode("iso-8859-1").decode("utf-8")
    return (value.translate(_cp1252) if _C1_CONTROLS.search(value) else value), kind


def _fp_link(value: str) -> str:
    # feedparser undoes ``&b;`` that old parsers made of ``&b`` in query strings
    return re.sub("&([A-Za-z0-9_]+);", r"&\g<1>", value.replace("&amp;", "&"))


def _rss_entry(item: Element, base: str) -> dict[str, Any] | None:
    """The feedparser entry of a plain RSS 2.0 item, or None when feedparser must read it."""
    if any(key != _XML_LANG for key in item.attrib):
        return None
    entry: dict[str, Any] = {}
    title_final = has_summary = has_content = False
    for child in item:
        kind = _RSS_FIELDS.get(child.tag)
        if len(child) or (kind is None and child.tag not in _RSS_INERT):
            return None
        attrs = {key for key in child.attrib if key != _XML_LANG}
        if kind in (None, "source"):
            title_final = title_final and kind != "source"  # feedparser's <source> unblocks titles
            continue
        if attrs and not (kind == "guid" and {a.lower() for a in attrs} == {"ispermalink"}):
            return None  # type=, href=, xml:base= change how feedparser reads the element
        text = child.text or ""
        if kind == "title":
            if title_final:
                continue
            value, kind_type = _fp_text(text, plain=True)
            entry["title"], entry["title_detail"] = value, {"value": value, "type": kind_type}
            title_final = bool(value) and child.tag != _MEDIA_TITLE
        elif kind == "description":
            if has_summary and not has_content:
                return None  # feedparser reads a second description as content
            value, kind_type = _fp_text(text, html=True)
            entry["summary_detail"] = {"value": value, "type": kind_type}
            has_summary = True
        elif kind == "content":
            value, kind_type = _fp_text(text, html=True)
            entry.setdefault("content", []).append({"value": value, "type": kind_type})
            has_content = has_summary = True
        elif kind == "link":
            entry["link"] = _fp_link(_fp_text(text, base=base)[0])
        elif kind == "guid":
            is_link = next(iter(child.attrib.values()), "true") == "true"
            entry["id"] = _fp_text(text, base=base if is_link else None)[0]
            if is_link:
                entry.setdefault("link", entry["id"])
        else:
            entry[kind] = _fp_text(text)[0]
    return entry


def _feedparser_entry(item: Element, base: str, source: str) -> Any:
    """Let feedparser read one item on its own, as it would inside the whole document."""
    attrs = f' xml:base="{base}"' if base else ""
    document = f'<rss version="2.0"><channel{attrs}>{tostring(item, encoding="unicode")}</channel></rss>'
    entries = _run_feedparser(document.encode("utf-8"), source).entries
    return entries[0] if entries else None


# --------------------------------------------------------------------------------------------
# Entries -> articles
# --------------------------------------------------------------------------------------------


def _articles(parsed: Any, source_name: str, zone: ZoneInfo, warn: Warn) -> list[Article]:
    source = _source_label(parsed.feed, source_name)
    numbered = ((number, _article(entry, number, source, source_name, zone, warn))
                for number, entry in enumerate(parsed.entries, 1))
    return _unique(((n, a) for n, a in numbered if a is not None), source_name, warn)


def _unique(numbered: Iterable[tuple[int, Article]], source_name: str, warn: Warn) -> list[Article]:
    """The articles of one whole document, a repeated id kept once: the later copy, where it stood."""
    by_id: dict[str, Article] = {}
    for number, article in numbered:
        if article.id in by_id:
            key = article.guid or article.url or article.content_hash
            warn(f"{source_name}: item {number} repeats id {key!r}; keeping the later one")
            del by_id[article.id]  # re-insert so the kept copy sits where the later item was
        by_id[article.id] = article
    return list(by_id.values())


def _article(entry: Any, number: int, source: str, feed: str, zone: ZoneInfo, warn: Warn) -> Article | None:
    title = _detail_text(entry.get("title_detail"), entry.get("title", ""), single_line=True)
    body = _entry_body(entry)
    url = _clean(entry.get("link"))
    guid = _clean(entry.get("id"))
    label = f"{feed}: item {number} ({title[:40] or url or guid or 'untitled'})"
    if not (title or body or url or guid):
        warn(f"{feed}: item {number} has no title, link, id or text; skipped")
        return None
    if len(title) > MAX_TITLE_CHARS or len(body) > MAX_TEXT_CHARS:
        title = _cut(title, MAX_TITLE_CHARS, label, "title", warn)
        body = _cut(body, MAX_TEXT_CHARS, label, "text", warn)
    published, offset = _entry_date(entry, zone, label, warn)
    content_hash = hashlib.sha1(f"{title}\n\n{body}".encode()).hexdigest()
    identity = guid or url or content_hash
    article_id = hashlib.sha1(f"{source}\x00{identity}".encode()).hexdigest()[:16]
    return Article(article_id, source, url, guid, title, body, published, offset, content_hash, feed)


def _cut(text: str, limit: int, label: str, what: str, warn: Warn) -> str:
    """``text`` cut to at most ``limit`` characters, after its last sentence end in the last tenth
    when there is one (a figure cut in half would read as another figure), else at its last
    whitespace there (between two words), else at the limit; with a warning. English text was cut
    mid-word: '.' was no sentence end (it is one only before whitespace)."""
    if len(text) <= limit:
        return text
    start = limit - limit // 10
    window = text[start:limit + 1]  # one more: whether a '.' at the limit is followed by whitespace
    end = max((start + m.end() for m in _SENTENCE_END.finditer(window) if start + m.end() <= limit),
              default=0)
    if not end:  # the last whitespace at or before the limit: what comes before it ends a word
        space = next((i for i in range(limit, start - 1, -1) if text[i].isspace()), None)
        end = (len(text[:space].rstrip()) if space is not None else 0) or limit
    warn(f"{label}: its {what} of {len(text):,} characters is cut to the first {end:,} "
         f"(feeds.MAX_{what.upper()}_CHARS)")
    return text[:end]


def _source_label(channel: Any, source_name: str) -> str:
    """The channel title, else the host of the channel link or URL, else the file's stem."""
    title = _detail_text(channel.get("title_detail"), channel.get("title", ""), single_line=True)
    if title:
        return title
    for candidate in (channel.get("link"), source_name):
        host = urllib.parse.urlsplit(candidate or "").hostname
        if host:
            return host
    return Path(source_name).stem or source_name


def _entry_body(entry: Any) -> str:
    # content:encoded / Atom <content> carry the full text; <description>/<summary> may be a teaser.
    for detail in [*entry.get("content", []), entry.get("summary_detail")]:
        if detail and detail.get("value", "").strip():
            return _detail_text(detail, detail["value"])
    return ""


def _detail_text(detail: Any, fallback: str, *, single_line: bool = False) -> str:
    value = detail.get("value", fallback) if detail else fallback
    kind = (detail.get("type") if detail else None) or "text/plain"
    text = html_to_text(value) if "html" in kind else _plain_paragraphs(value)
    return _normalise_space(text.replace("\n\n", " ")) if single_line else text


def _entry_date(entry: Any, zone: ZoneInfo, label: str, warn: Warn) -> tuple[datetime | None, int | None]:
    # `"updated" in entry` first: feedparser answers a missing `updated` with `published` and a
    # DeprecationWarning (its issue 310), and an empty `published` sent us there
    updated = entry.get("updated") if "updated" in entry else None
    raw = entry.get("published") or updated or entry.get("created")
    if not raw or not str(raw).strip():
        warn(f"{label}: no publication date")
        return None, None
    parsed = parse_date(str(raw), zone)
    if parsed is None:
        warn(f"{label}: cannot read the date {str(raw).strip()!r}")
        return None, None
    return parsed


def _clean(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


# --------------------------------------------------------------------------------------------
# HTML -> plain text
# --------------------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
    "pre", "table", "tr", "section", "article", "header", "footer", "aside", "figure", "figcaption", "hr",
    "address", "nav", "main",
})
_SKIP_TAGS = frozenset({"script", "style", "head", "title", "noscript", "template"})
_SPACES = re.compile(r"[ \t\r\n\f\v\xa0]+")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._current: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.flush()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:  # <br/>, <hr/>: a self-closed skip tag must not open a skip region
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._current.append(data)

    def flush(self) -> None:
        text = _normalise_space("".join(self._current))
        if text:
            self.paragraphs.append(text)
        self._current = []


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: block elements become paragraphs joined by a blank line."""
    if _is_bare_html(markup) and "\x00" not in markup:
        return _bare_html_text(markup)
    return _parsed_text(markup)


# Bare HTML (``_is_bare_html``) read by two substitutions instead of html.parser's per-tag calls
# (~5x faster): block tags mark paragraph ends, other tags go, entities are unescaped as
# html.parser's convert_charrefs does. tests/test_feeds.py compares both on random bare HTML.
_BARE_BLOCK_MARK = re.compile(
    rf"</?(?:{'|'.join(t for t in _BARE_TAGS + _BARE_VOID if t in _BLOCK_TAGS)})(?: ?/)?>")
_BARE_OTHER_MARK = re.compile(r"</?[a-z0-9]+(?: ?/)?>")


def _bare_html_text(markup: str) -> str:
    text = html.unescape(_BARE_OTHER_MARK.sub("", _BARE_BLOCK_MARK.sub("\x00", markup)))
    text = _normalise_space(text)  # at once: no space or invisible class holds the NUL marks
    return "\n\n".join(p for p in (chunk.strip() for chunk in text.split("\x00")) if p)


def _parsed_text(markup: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    extractor.flush()
    return "\n\n".join(extractor.paragraphs)


def _plain_paragraphs(text: str) -> str:
    paragraphs = (_normalise_space(chunk) for chunk in re.split(r"\n[ \t\r\f\v]*\n", text))
    return "\n\n".join(p for p in paragraphs if p)


def _normalise_space(text: str) -> str:
    # str.strip() also trims U+3000 indents; inside the text full-width characters stay as written.
    return _SPACES.sub(" ", _INVISIBLE.sub("", text)).strip()


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
# Zone abbreviations seen in feeds. "CST" is deliberately absent: it depends on the source (below).
_NAMED_ZONES = {
    "GMT": 0, "UT": 0, "UTC": 0, "Z": 0,
    "EST": -300, "EDT": -240, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420,
    "HKT": 480, "SGT": 480, "BJT": 480, "JST": 540, "KST": 540, "CET": 60, "CEST": 120, "BST": 60,
}
_CHINA_OFFSET = 480
_US_CENTRAL_OFFSET = -360

_ZONE = r"(?P<zone>Z|[+-]\d{2}:?\d{2}|[+-]\d{2}|(?:GMT|UTC|UT)\s*[+-]\d{1,2}(?::?\d{2})?|[A-Za-z]{1,5})"
_TIME = r"(?P<hour>\d{1,2})[:时](?P<minute>\d{2})(?:[:分](?P<second>\d{2})(?P<fraction>[.,]\d+)?秒?)?"
_RFC822 = re.compile(
    r"(?:[A-Za-z]{3,9},?\s*)?(?P<day>\d{1,2})[\s-]+(?P<month>[A-Za-z]{3})[A-Za-z]*\.?[\s-]+(?P<year>\d{2,4})"
    rf"(?:\s+{_TIME})?\s*{_ZONE}?"
)
_NUMERIC = re.compile(
    r"(?P<year>\d{4})(?:[-/.](?P<month>\d{1,2})[-/.](?P<day>\d{1,2})|年\s*(?P<cmonth>\d{1,2})\s*月\s*"
    r"(?P<cday>\d{1,2})\s*日)"
    rf"(?:(?:T|\s*)\s*{_TIME})?\s*{_ZONE}?"
)


def parse_date(text: str, default_tz: str | ZoneInfo = "Asia/Shanghai") -> tuple[datetime, int] | None:
    """Parse a feed date into (aware UTC datetime, UTC offset in minutes the text meant).

    Handles RFC 822 (``Thu, 29 Jan 2026 21:52:24 +0800``), ISO 8601 with or without a zone, and the
    Chinese forms ``2026年9月25日 14:30``, ``2026-09-25 14:30:00``, ``2026/09/25 14:30``. Zone-less
    times are local to ``default_tz``; ``CST`` means China Standard Time when ``default_tz`` is a
    UTC+8 zone and US Central otherwise. Returns None when the text is not a date we can trust.
    """
    zone = default_tz if isinstance(default_tz, ZoneInfo) else ZoneInfo(default_tz)
    cleaned = text.strip()
    match = _RFC822.fullmatch(cleaned) or _NUMERIC.fullmatch(cleaned)
    if match is None:
        return None
    fields = match.groupdict()
    try:
        if fields.get("cmonth"):
            year, month, day = int(fields["year"]), int(fields["cmonth"]), int(fields["cday"])
        else:
            year, month, day = int(fields["year"]), _month(fields["month"]), int(fields["day"])
        if len(fields["year"]) == 2:  # RFC 822 two-digit years
            year += 2000 if year < 70 else 1900
        second = min(int(fields["second"] or 0), 59)  # a leap second lands on :59
        micro = int((fields["fraction"] or ".0")[1:7].ljust(6, "0"))  # sub-microsecond digits dropped
        hour, minute = int(fields["hour"] or 0), int(fields["minute"] or 0)
        local = datetime(year, month, day, hour, minute, second, micro)
        offset = _zone_offset(fields["zone"], zone, local)
        if offset is None:
            return None
        aware = local.replace(tzinfo=timezone(timedelta(minutes=offset))).astimezone(UTC)
    except (ValueError, KeyError, OverflowError):  # impossible dates, or instants beyond year 1..9999
        return None
    return (aware, offset) if _PLAUSIBLE[0] <= aware < _PLAUSIBLE[1] else None


# News is dated within these years. Beyond them a date is a typo or hostile (2300-01-01): one such
# article made every later command fail where pandas turns times into nanoseconds (years 1677..2262).
_PLAUSIBLE = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))


def _month(value: str) -> int:
    return int(value) if value.isdigit() else _MONTHS[value.lower()]


def _zone_offset(zone_text: str | None, default: ZoneInfo, local: datetime) -> int | None:
    if not zone_text:
        delta = local.replace(tzinfo=default).utcoffset()
        return int(delta.total_seconds() // 60) if delta is not None else None
    name = zone_text.upper().replace(" ", "")
    if name == "CST":
        china = local.replace(tzinfo=default).utcoffset() == timedelta(minutes=_CHINA_OFFSET)
        return _CHINA_OFFSET if china else _US_CENTRAL_OFFSET
    if name in _NAMED_ZONES:
        return _NAMED_ZONES[name]
    numeric = re.fullmatch(r"(?:GMT|UTC|UT)?([+-])(\d{1,2}):?(\d{2})?", name)
    if numeric is None:
        return None  # an unknown abbreviation: guessing would shift the event by hours
    sign, hours, minutes = numeric.groups()
    if int(hours) > 14 or int(minutes or 0) > 59:
        return None
    return (1 if sign == "+" else -1) * (int(hours) * 60 + int(minutes or 0))
