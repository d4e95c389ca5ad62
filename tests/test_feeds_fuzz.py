"""Fuzzing: whatever bytes arrive, parse_feed_bytes returns articles or raises FeedError, nothing else."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from signals.errors import FeedError
from signals.feeds import Article, html_to_text, parse_feed_bytes, read_feeds

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
SEED = (FIXTURES / "rss2_dates.xml").read_bytes()
GBK_SEED = (FIXTURES / "gbk.xml").read_bytes()


def parse_or_feed_error(data: bytes) -> list[Article] | None:
    """Parse; a FeedError is an accepted outcome, any other exception fails the test."""
    try:
        articles = parse_feed_bytes(data, source_name="fuzz.xml", on_warning=lambda _message: None)
    except FeedError as err:
        assert str(err).startswith("fuzz.xml")
        return None
    for article in articles:
        assert len(article.id) == 16
        assert article.published_utc is None or article.published_utc.tzinfo is UTC
        assert article.feed == "fuzz.xml"
    assert len({a.id for a in articles}) == len(articles)
    return articles


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        position = draw(st.integers(min_value=0, max_value=len(data)))
        action = draw(st.sampled_from(["flip", "delete", "insert", "duplicate", "truncate"]))
        if action == "flip" and position < len(data):
            data[position] = draw(st.integers(min_value=0, max_value=255))
        elif action == "delete":
            del data[position: position + draw(st.integers(min_value=1, max_value=40))]
        elif action == "insert":
            fragment = draw(st.sampled_from([b"<", b"&", b"]]>", b"<![CDATA[", b"&nbsp;", b"<!ENTITY a 'b'>",
                                             b"\x00", b"\xff\xfe", "涨".encode(), b"</item>", b"<item>"]))
            data[position:position] = fragment
        elif action == "duplicate":
            end = position + draw(st.integers(min_value=1, max_value=200))
            data[position:position] = data[position:end]
        elif action == "truncate":
            del data[position:]
    return bytes(data)


ATOM_SEED = (FIXTURES / "atom.xml").read_bytes()
RDF_SEED = (FIXTURES / "rss1_rdf.xml").read_bytes()


def stream_or_feed_error(data: bytes, tmp_path_factory) -> None:
    """The streaming readers (any document forced to stream): articles or FeedError, nothing else."""
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.xml"
    path.write_bytes(data)
    try:
        articles = list(read_feeds(path, stream_bytes=0, on_warning=lambda _message: None))
    except FeedError as err:
        assert str(err).startswith(str(path))
        return
    assert all(len(a.id) == 16 and (a.published_utc is None or a.published_utc.tzinfo is UTC)
               for a in articles)


@given(st.one_of(mutated(ATOM_SEED), mutated(RDF_SEED), mutated(SEED)))
def test_mutated_feeds_stream_to_articles_or_a_feed_error(tmp_path_factory, data: bytes) -> None:
    stream_or_feed_error(data, tmp_path_factory)


@given(st.binary(max_size=2000))
def test_random_bytes(data: bytes) -> None:
    parse_or_feed_error(data)


@given(mutated(SEED))
def test_mutated_real_feed(data: bytes) -> None:
    parse_or_feed_error(data)


@given(mutated(GBK_SEED))
def test_mutated_gbk_feed(data: bytes) -> None:
    parse_or_feed_error(data)


@given(st.text(max_size=300))
def test_random_text_inside_an_item(text: str) -> None:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;")
    feed = f"<rss version='2.0'><channel><title>t</title><item><title>{escaped}</title>" \
           f"<description>{escaped}</description><pubDate>{escaped}</pubDate></item></channel></rss>"
    parse_or_feed_error(feed.encode("utf-8", "surrogatepass"))


@given(st.text(alphabet=st.sampled_from(list("<>/&;#pdivbrl x甲乙\n\t \u3000\xa0")), max_size=200))
def test_html_to_text_is_normalised(markup: str) -> None:
    text = html_to_text(markup)
    assert text == text.strip()
    assert "\n\n\n" not in text
    for paragraph in text.split("\n\n") if text else []:
        assert paragraph and paragraph == paragraph.strip()
        assert "  " not in paragraph and "\t" not in paragraph and "\n" not in paragraph
