"""Instrument reference data and entity linking: text -> ``Mention`` of an ``Instrument``.

Reference data lives in ``data/instruments/`` (built by ``scripts/build_instruments.py``; see
docs/entities.md). One Aho-Corasick automaton (leftmost-longest) finds every alias in one pass; each match
is then checked (ASCII word boundaries, case, blocked words) and resolved with small context rules:
A/H listings by market words nearby, common words (苹果, 大众, 铜) by cue words, currencies not when
they are the unit of an amount, institutions as speakers when a speech verb follows.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import ahocorasick_rs

from signals.errors import ReferenceDataError
from signals.numbers import one_to_one_translator

# Mentions below this confidence are candidates, not links: consumers should treat them as unresolved.
MIN_CONFIDENCE = 0.5
AMBIGUOUS_CONFIDENCE = 0.3
_ORIGIN_CONFIDENCE = {"curated": 0.95, "name": 0.95, "variant": 0.85, "english": 0.85, "code": 0.9,
                      "ticker": 0.8}
_ORIGIN_RANK = {"block": 0, "curated": 1, "name": 2, "variant": 3, "english": 3, "code": 4, "ticker": 4}
_CUE_WINDOW = 15  # characters either side searched for positive cues and market words
_NEGATIVE_WINDOW = 6  # negative cues must sit right next to the word (苹果价格, 铜牌)
_SPEECH_WINDOW = 12
# cue sets for official names that are everyday words (机器人, 太平洋): the cue must sit right next to
# the word, and other occurrences of the word in the text prove nothing
_STRICT_CUE_SETS = {"listed": 6}
# 中国… names (中国黄金, 中国电影) that are also phrases: ruled out only by the words right after them
_CN_GENERIC = "cn_generic"
# 央行 and 联储 alone are the PBOC and the Fed; a place right before them names another country's bank
# (土耳其央行, 新西兰联储, 泰国央行: any X国 but 中国/我国/美国, and not 全国): no mention unless an
# alias names that bank (日本央行, 澳洲联储 are longer matches and never get here)
_BANK_PLACE = "bank_place"
_BANK_PLACE_WINDOW = 8
_CN_COMPANY_WORDS = ("业绩", "业务", "营业")
_SENTENCE_END = re.compile(r"[。！？；!?;\n]")
# A listed broker stating its own results is the company, not a speaker: 国盛证券预计2025年归母净利润…,
# 国盛证券交出2025”成绩单”: (a speech cue follows, but the words right after the name are its own
# figures); 高盛预计美联储… and 大摩点评特斯拉财报 still speak
_OWN_RESULTS = re.compile(
    r"(?:交出|发布|公布|披露|晒出)?(?:\d{4}年?度?)?[”“\"]?(?:成绩单|业绩预告|业绩快报|年报|年度报告|季报|财报)"
    r"|(?:预计|预期)?(?:\d{4}年度?)?(?:全年|上半年|前三季度|[一二三四]季度)?(?:实现)?"
    r"(?:归母|扣非|归属于(?:母公司|上市公司)|营业收入|营收|净利润)(?!率)"
    # …or its own payout or outlook moved (三菱日联金融集团将年度股息上调至每股64日元, 高盛上调全年业绩指引:
    # not a house's view)
    r"|(?:宣布|决定|计划|拟)?将?(?:上调|下调|提高|调高|调低|上修|下修)?(?:其|公司)?"
    r"(?:\d{4}(?:财)?年度?|本财年|全年|年度|中期|末期|季度|特别)?"
    r"(?:股息|分红|派息|业绩指引)(?!预期|预测|预估|目标)"  # 高盛将摩根大通股息预期上调: a view
    # …or a period's results of its own (摩根大通第三季度业绩超预期)
    r"|(?:\d{4}年)?(?:第?[一二三四1-4]季度|上半年|下半年|前三季度|全年|年度)的?(?:业绩|利润|盈利)"
    r"(?!预期|预测|预估|目标)")
_FORECAST = ("预计", "预期")  # the own-results words that are also a forecast's (see _forecasting)
# 高盛：… / 大摩、高盛：… heads a house's view (news write the speaker before a colon), unless what
# follows is the house's own stock (高盛、摩根大通：股价均大涨5%)
_COLON_SPEECH = re.compile(r"(?:[、和与及][^\s、和与及：:，。；]{1,10}){0,4}\s*[：:]"
                           r"(?!\s*(?:股价|股票|市值|盘[前中后]|均?(?:大涨|大跌|上涨|下跌|收涨|收跌|涨|跌)))")
_SENTENCE_ENDS = "。！？；!?;\n"
_TOPIC_FRAME = re.compile(r"对于|关于|谈及|针对|展望|至于")  # what a forecast after it is about
_CLAUSE_END = re.compile(r"[，,。！？；!?;、\n]")  # a strict cue must sit in the word's own clause
_SURROGATE = re.compile("[\ud800-\udfff]")
_AMOUNT_BEFORE = set("0123456789万亿千百兆十几数多")  # 600亿美元: the currency is a unit here
_CODE_PREFIXES = ("SH", "SZ", "BJ")
_CODE_SUFFIXES = {"SH": "SS", "SS": "SS", "SZ": "SZ", "BJ": "BJ", "HK": "HK"}
_MARKET_CUES = {"XHKG": "hk_market", "XNYS": "us_market", "XNAS": "us_market", "XASE": "us_market",
                "XSHG": "a_market", "XSHE": "a_market", "XBSE": "a_market"}

# Full-width ASCII -> half-width and ASCII upper -> lower, one character for one (spans stay valid).
_FOLD = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_FOLD_LOWER = _FOLD | {c: c + 32 for c in range(ord("A"), ord("Z") + 1)} | {
    c: c - 0xFEE0 + 32 for c in range(0xFF21, 0xFF3B)}


@dataclass(frozen=True)
class Instrument:
    ticker: str  # Yahoo symbol; policy bodies and unlisted institutions use a pseudo-id such as @FED
    name: str
    kind: str  # equity, index, commodity, fx, rate, policy_body, institution
    market: str | None  # ISO MIC, CMES for futures, FX for currencies and crypto
    currency: str | None
    benchmark: str | None
    alt_tickers: tuple[str, ...] = ()
    full_name: str | None = None
    english_name: str | None = None
    tradable: bool = True
    speaker: bool = False  # publishes research or policy statements that the news quotes


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    text: str
    instrument: Instrument
    confidence: float
    role_hint: str | None = None  # "speaker" (大摩表示), "product" (茅台酒 批价)
    alternatives: tuple[str, ...] = ()  # other tickers the words could mean when ambiguous


class _Entry(NamedTuple):  # a NamedTuple: tens of thousands are built at load time
    alias: str
    tickers: tuple[str, ...]  # several only for compounds such as 金|铜
    origin: str
    needs_context: str
    case_sensitive: bool
    parts: tuple[tuple[int, int], ...] | None  # offsets of each compound part inside the alias


_Plan = tuple  # see Linker._plan
_GENERAL: _Plan = ()
_NEVER: _Plan = ("never",)

_fold = one_to_one_translator(_FOLD)
_fold_lower = one_to_one_translator(_FOLD_LOWER, lower_ascii=True)


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


# ---- tickers --------------------------------------------------------------------------------------
# Yahoo's exchange suffixes: part of the symbol (RY.TO, AIR.NZ, TCS.BO), never a share class. Letters
# not listed after a dot are a class (BRK.B -> BRK-B, RAC.WS -> RAC-WS), so a missing exchange here
# mangles every symbol of it (RY.TO was RY-TO).
_EXCHANGE_SUFFIXES = {
    # Asia-Pacific
    "SS", "SZ", "BJ", "HK", "TW", "TWO", "T", "KS", "KQ", "SI", "KL", "JK", "BK", "BO", "NS", "AX", "NZ",
    "TO", "V", "CN", "NE", "SA", "MX", "BA", "SN",  # Americas
    "L", "IL", "DE", "F", "BE", "DU", "HM", "HA", "MU", "SG", "PA", "AS", "BR", "LS", "NX", "SW", "MI", "TI",
    "MC", "CO", "ST", "HE", "OL", "IC", "VI", "WA", "PR", "BD", "AT", "IR", "IS", "RO", "TL", "RG", "VS",
    "ME",  # Europe
    "TA", "SR", "QA", "KW", "AE", "CA", "JO",  # Middle East and Africa
    "NYB",  # ICE US indices (DX-Y.NYB)
}
_VENUE_SUFFIX = {"SH": "SS", "XSHG": "SS", "SSE": "SS", "XSHE": "SZ", "SZSE": "SZ", "BSE": "BJ", "XBSE": "BJ",
                 "XHKG": "HK"}


# Reuters RIC suffixes of US listings (AAPL.O Nasdaq, MSFT.OQ, IBM.N NYSE, JPM.K): Yahoo writes the
# symbol bare. They are not share classes (BRK.B -> BRK-B), which are letters A-F or so.
_RIC_US_SUFFIXES = {"O", "OQ", "N", "K"}


def _a_share_suffix(code: str) -> str:
    if code.startswith(("6", "9")) and not code.startswith("92"):
        return "SS"
    if code.startswith(("0", "2", "3")):
        return "SZ"
    return "BJ"  # 4xxxxx, 8xxxxx and the new 92xxxx codes


def normalize_ticker(symbol: str) -> str:
    """Yahoo form of a vendor symbol: 600519.SH -> 600519.SS, SH600519 -> 600519.SS, 00700 -> 0700.HK,
    700.HK -> 0700.HK, BRK/B and BRK.B -> BRK-B, AAPL.O (a Reuters RIC) -> AAPL. A bare 6-digit code
    gets its exchange from its first digits (000001 -> 000001.SZ, the bank; the index is 000001.SS)
    unless the instrument table lists it on one other exchange only (000300 -> 000300.SS)."""
    s = _fold(symbol).strip().upper().replace(" ", "")
    if not s or not re.fullmatch(r"[\^@A-Z0-9.=\-/&]+", s):
        raise ReferenceDataError(f"cannot read ticker {symbol!r}",
                                 hint="use a Yahoo symbol such as 600519.SS")
    if m := re.fullmatch(r"(SH|SZ|BJ)(\d{6})", s):
        return f"{m[2]}.{_VENUE_SUFFIX.get(m[1], m[1])}"
    if m := re.fullmatch(r"(\d{6})\.([A-Z]+)", s):
        suffix = _VENUE_SUFFIX.get(m[2], m[2])
        return f"{m[1]}.{suffix}"
    if re.fullmatch(r"\d{6}", s):
        return _bare_code(s)
    m = re.fullmatch(r"(?:HK)?(\d{1,5})(?:\.HK)?", s)
    if m and (s.endswith(".HK") or s.startswith("HK") or len(m[1]) == 5):
        return f"{int(m[1]):04d}.HK"
    m = re.fullmatch(r"([A-Z][A-Z0-9]*)[/.\-]([A-Z]{1,2})", s)
    if m and s[len(m[1])] == "." and m[2] in _RIC_US_SUFFIXES:
        return m[1]  # a Reuters RIC: AAPL.O -> AAPL
    if m and m[2] not in _EXCHANGE_SUFFIXES:
        return f"{m[1]}-{m[2]}"  # share class: BRK/B, BRK.B -> BRK-B
    return s


def _bare_code(code: str) -> str:
    """A bare 6-digit code: the exchange its first digits imply, unless the instrument table lists the
    code on one other exchange only (000300 is the CSI 300, 000300.SS; no Shenzhen stock has it). A
    code listed twice (000001: 平安银行 000001.SZ and 上证指数 000001.SS) keeps the implied one."""
    implied = f"{code}.{_a_share_suffix(code)}"
    try:
        listed = _six_digit_listings(_data_dir(None)).get(code, ())
    except ReferenceDataError:
        return implied  # no reference data: the digits are all there is
    return listed[0] if len(listed) == 1 and implied not in listed else implied


@functools.lru_cache(maxsize=4)
def _six_digit_listings(data_dir: Path) -> dict[str, tuple[str, ...]]:
    """6-digit code -> its tickers (.SS/.SZ/.BJ) in instruments.csv, read once per directory."""
    out: dict[str, list[str]] = defaultdict(list)
    for row in _read(data_dir / "instruments.csv", _INSTRUMENT_COLUMNS):
        code, _, suffix = row[0].partition(".")
        if len(code) == 6 and code.isdigit() and suffix in ("SS", "SZ", "BJ"):
            out[code].append(row[0])
    return {code: tuple(tickers) for code, tickers in out.items()}


# ---- loading --------------------------------------------------------------------------------------
def _data_dir(path: str | os.PathLike[str] | None) -> Path:
    if path is None:
        path = os.environ.get("SIGNALS_DATA_DIR") or Path(__file__).resolve().parents[2] / "data"
    root = Path(path)
    for candidate in (root, root / "instruments"):
        if (candidate / "instruments.csv").is_file() and (candidate / "aliases.csv").is_file():
            return candidate
    raise ReferenceDataError(f"no instruments.csv and aliases.csv under {root}",
                             hint="set SIGNALS_DATA_DIR or run scripts/build_instruments.py")


def _read(path: Path, columns: tuple[str, ...]) -> list[list[str]]:
    """Rows of a CSV whose header must be exactly ``columns``."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ReferenceDataError(f"{path}: {err}") from err
    if not rows or tuple(rows[0]) != columns:
        raise ReferenceDataError(f"{path}: expected columns {','.join(columns)}",
                                 hint="run scripts/build_instruments.py")
    if any(len(r) != len(columns) for r in rows[1:]):
        raise ReferenceDataError(f"{path}: a row does not have {len(columns)} fields")
    return rows[1:]


_INSTRUMENT_COLUMNS = ("ticker", "name", "kind", "market", "currency", "benchmark", "full_name",
                       "english_name", "alt_tickers", "tradable", "speaker")


def _instrument(row: list[str]) -> Instrument:
    ticker, name, kind, market, currency, benchmark, full_name, english_name, alt, tradable, speaker = row
    return Instrument(
        ticker=ticker, name=name, kind=kind, market=market or None, currency=currency or None,
        benchmark=benchmark or None, alt_tickers=tuple(filter(None, alt.split(";"))),
        full_name=full_name or None, english_name=english_name or None, tradable=tradable == "1",
        speaker=speaker == "1")


class _Instruments(dict[str, Instrument]):
    """ticker -> Instrument, built on first access: making 15,000 frozen dataclasses up front would be
    a third of the load time."""

    def __init__(self, rows: dict[str, list[str]]) -> None:
        super().__init__()
        self._rows = rows

    def __missing__(self, ticker: str) -> Instrument:
        instrument = _instrument(self._rows[ticker])
        self[ticker] = instrument
        return instrument

    def __contains__(self, ticker: object) -> bool:
        return ticker in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self):  # type: ignore[override]
        return iter(self._rows)

    def values(self):  # type: ignore[override]
        return [self[t] for t in self._rows]

    def items(self):  # type: ignore[override]
        return [(t, self[t]) for t in self._rows]

    def get(self, ticker: str, default: Instrument | None = None) -> Instrument | None:  # type: ignore[override]
        # dict.get never calls __missing__: a ticker not built yet read as unknown (no market, no
        # benchmark) wherever nothing had asked for it by [] before, as in the parent of --jobs workers
        return self[ticker] if ticker in self._rows else default


def _entry(alias: str, ticker: str, origin: str, needs_context: str) -> _Entry:
    plain = alias.replace("|", "")
    parts = None
    if "|" in alias:
        offsets, pos = [], 0
        for piece in alias.split("|"):
            offsets.append((pos, pos + len(piece)))
            pos += len(piece)
        parts = tuple(offsets)
    has_cjk = not plain.isascii()
    case_sensitive = origin in ("ticker", "code") or (not has_cjk and len(plain) < 4)
    return _Entry(plain, tuple(ticker.split("|")) if ticker else (), origin, needs_context, case_sensitive,
                  parts)


class Linker:
    """Finds instrument mentions in Chinese financial text. Build with ``Linker.from_data()``."""

    def __init__(self, instruments: Iterable[Instrument] | dict[str, Instrument],
                 aliases: Iterable[tuple[str, str, str, str]] | Iterable[list[str]],
                 cues: Iterable[tuple[str, str, str]] | Iterable[list[str]] = ()) -> None:
        self.instruments: dict[str, Instrument] = (
            instruments if isinstance(instruments, dict) else {i.ticker: i for i in instruments})
        by_pattern: dict[str, list[_Entry]] = defaultdict(list)
        for alias, ticker, origin, needs_context in aliases:
            if origin not in _ORIGIN_RANK:
                raise ReferenceDataError(f"alias {alias!r}: unknown origin {origin!r}")
            entry = _entry(alias, ticker, origin, needs_context)
            missing = [t for t in entry.tickers if t not in self.instruments]
            if missing:
                raise ReferenceDataError(f"alias {alias!r} points to unknown ticker {missing[0]}")
            by_pattern[entry.alias.translate(_FOLD_LOWER)].append(entry)
        for entries in by_pattern.values():
            entries.sort(key=lambda e: _ORIGIN_RANK[e.origin])  # stable: file order breaks ties
        self._patterns = list(by_pattern)
        self._entries = [by_pattern[p] for p in self._patterns]
        self._pattern_index = {p: i for i, p in enumerate(self._patterns)}
        self._automaton = ahocorasick_rs.AhoCorasick(
            self._patterns, matchkind=ahocorasick_rs.MATCHKIND_LEFTMOST_LONGEST)
        # per pattern, built on first match: most matches are one plain name that needs no context
        self._plans: list[_Plan | None] = [None] * len(self._patterns)
        self._strict_patterns = {i for i, entries in enumerate(self._entries)
                                 if any(e.needs_context in _STRICT_CUE_SETS for e in entries)}
        self._cues: dict[tuple[str, str], tuple[str, ...]] = defaultdict(tuple)
        for cue_set, polarity, cue in cues:
            self._cues[(cue_set, polarity)] += (cue,)
        # hash of the reference files this linker was built from ("" when built from rows in memory)
        self.data_hash = ""

    @classmethod
    def from_data(cls, path: str | os.PathLike[str] | None = None) -> Linker:
        """The linker for ``path`` (data dir or data/instruments; default: env SIGNALS_DATA_DIR, then the
        repository's data/). Built once per process and directory."""
        return _cached_linker(_data_dir(path))

    # ---- lookup ---------------------------------------------------------------------------------
    def lookup(self, name: str) -> list[Instrument]:
        """Instruments an exact alias or ticker names, best first (A-share before its H share)."""
        text = _fold(name).strip()
        if not text:
            return []
        found: list[Instrument] = []
        try:
            ticker = normalize_ticker(text)
        except ReferenceDataError:
            ticker = None
        if ticker in self.instruments:
            found.append(self.instruments[ticker])
        for pattern in {text.translate(_FOLD_LOWER), text.replace(" ", "").translate(_FOLD_LOWER)}:
            for entry in self._entries_for(pattern):
                if entry.parts is None:
                    found.extend(self.instruments[t] for t in entry.tickers)
        return list(dict.fromkeys(found))

    def _entries_for(self, pattern: str) -> list[_Entry]:
        index = self._pattern_index.get(pattern)
        return self._entries[index] if index is not None else []

    # ---- find -----------------------------------------------------------------------------------
    def find(self, text: str) -> list[Mention]:
        """Mentions in ``text``: longest match, non-overlapping, sorted by start. Never raises on a str:
        lone surrogates (which the matcher cannot encode) become U+FFFD, one for one."""
        return self._find(text, shortcuts=True)

    def _find(self, text: str, *, shortcuts: bool) -> list[Mention]:
        """``find``; without ``shortcuts`` every match takes the general path (the differential tests
        check that both give the same mentions)."""
        if _SURROGATE.search(text):
            text = _SURROGATE.sub("\ufffd", text)
        folded = _fold_lower(text)
        mentions: list[Mention] = []
        strict: set[int] = set()  # positions of mentions that the discourse rule must not raise
        matches = self._automaton.find_matches_as_indexes(folded)
        plans, speech_cues = self._plans, self._cues.get(("speech", "positive"), ())
        for k, (index, start, end) in enumerate(matches):
            plan = plans[index] if shortcuts else _GENERAL
            if plan is None:
                plan = plans[index] = self._plan(index)
            if plan is _NEVER:
                continue
            if plan is not _GENERAL:
                instrument, confidence, unit_check, speaker, exact, left, right = plan
                if exact is not None and (surface := text[start:end]) != exact and (
                        surface.isascii() or _fold(surface) != exact):
                    continue  # case-sensitive alias (a ticker) matched in the folded text only
                if (left and start and _is_word_char(text[start - 1])) or (
                        right and end < len(text) and _is_word_char(text[end])):
                    continue  # inside a longer ASCII word
                if unit_check and start and text[start - 1] in _AMOUNT_BEFORE:
                    continue
                role = "speaker" if speaker and self._speaks(text, start, end, speech_cues) else None
                mentions.append(Mention(start, end, text[start:end], instrument, confidence, role))
                continue
            # a strict cue belongs to the nearest word: it is not searched past a neighbouring match
            # (今天国际|黄金价格大涨: 大涨 is gold's)
            bounds = (matches[k - 1][2] if k else 0,
                      matches[k + 1][1] if k + 1 < len(matches) else len(text))
            found = self._resolve(text, start, end, self._entries[index], bounds)
            if index in self._strict_patterns:
                strict.update(m.start for m in found)
            mentions.extend(found)
        return self._apply_discourse(self._forecasting(text, mentions), strict)

    def _plan(self, index: int) -> _Plan:
        """What every match of one pattern needs when it has a single entry with one ticker and no
        context rule: _NEVER for a blocked word (the general path when its tail may split off); else
        (instrument, confidence, whether a number before it makes it a unit, whether it may speak, the
        exact surface a case-sensitive alias needs, whether the left / right end must be an ASCII word
        boundary). Anything else takes the general path."""
        entries = self._entries[index]
        if len(entries) != 1:
            return _GENERAL
        e = entries[0]
        if e.origin == "block":
            # blocked alone or inside a longer word: never a mention, unless its tail may split off
            return _GENERAL if e.needs_context else _NEVER
        if e.parts is not None or e.needs_context or e.origin == "code" or len(e.tickers) != 1:
            return _GENERAL
        instrument = self.instruments[e.tickers[0]]
        return (instrument, _ORIGIN_CONFIDENCE[e.origin], instrument.kind == "fx", instrument.speaker,
                e.alias if e.case_sensitive else None, _is_word_char(e.alias[0]), _is_word_char(e.alias[-1]))

    def _resolve(self, text: str, start: int, end: int, entries: list[_Entry],
                 bounds: tuple[int, int] = (0, -1)) -> list[Mention]:
        surface = _fold(text[start:end])
        usable = [e for e in entries if (not e.case_sensitive or surface == e.alias)]
        bounded = []
        for e in usable:
            span = self._bounded_span(text, start, end, e)
            if span is not None:
                bounded.append((e, span))
        if not bounded:
            return []
        blocks = [e for e, _ in bounded if e.origin == "block"]
        if blocks:
            if len(blocks) == 1 and self._tail_splits(text, end, blocks[0].needs_context):
                return self._resolve_head(text, start, end - 1, bounds)
            return []
        entry, (start, end, suffix) = bounded[0]
        if entry.parts is not None:
            return self._compound(text, start, entry)
        candidates = list(dict.fromkeys(t for e, _ in bounded for t in e.tickers))
        if suffix:
            candidates = [t for t in candidates if t.endswith("." + suffix)] or candidates
        ticker, confidence, alternatives = self._choose(text, start, end, candidates, entry, bounded)
        instrument = self.instruments[ticker]
        if instrument.kind == "fx" and start > 0 and text[start - 1] in _AMOUNT_BEFORE:
            return []
        role = None
        if entry.needs_context == "product":
            role, confidence = "product", min(confidence, 0.6)
        elif entry.needs_context in _STRICT_CUE_SETS:
            if not self._strict_cue(text, start, end, entry.needs_context, bounds):
                return []  # 人形机器人公司: the everyday word, not the company
        elif entry.needs_context:
            confidence = self._context_confidence(text, start, end, entry.needs_context, confidence)
            if confidence is None:
                return []
        if instrument.speaker and self._speaks(text, start, end, self._cues.get(("speech", "positive"), ())):
            role = "speaker"
        return [Mention(start, end, text[start:end], instrument, confidence, role, alternatives)]

    def _tail_splits(self, text: str, end: int, cue_set: str) -> bool:
        """A blocked word whose last character starts a positive word of its cue set (``needs_context`` of
        the block row), and no negative one, is no block there: 日产|量产新车型 is Nissan mass-producing,
        while 日产量达到100万桶 and 对日产量产生影响 (产生, not 量产) are a daily output."""
        if not cue_set:
            return False
        def starts(polarity: str) -> bool:
            return any(text.startswith(cue, end - 1) for cue in self._cues.get((cue_set, polarity), ()))
        return starts("positive") and not starts("negative")

    def _resolve_head(self, text: str, start: int, end: int, bounds: tuple[int, int]) -> list[Mention]:
        """The alias that the blocked word extends by its split-off last character (日产 of 日产量)."""
        index = self._pattern_index.get(_fold_lower(text[start:end]))
        if index is None:
            return []
        return self._resolve(text, start, end, self._entries[index], bounds)

    def _bounded_span(self, text: str, start: int, end: int, entry: _Entry) -> tuple[int, int, str] | None:
        """ASCII aliases must not sit inside a longer ASCII word (NVDA in NVDAX). A-share codes may carry
        an exchange prefix or suffix (SH600519, 600519.SH), which also tells which listing is meant."""
        suffix = ""
        if entry.origin == "code" and entry.alias.isdigit():
            prefix = text[max(0, start - 2):start].upper()
            if prefix in _CODE_PREFIXES and (start < 3 or not _is_word_char(text[start - 3])):
                start, suffix = start - 2, _CODE_SUFFIXES[prefix]
            m = re.match(r"\.(SH|SS|SZ|BJ|HK)(?![A-Za-z0-9])", text[end:end + 4], re.IGNORECASE)
            if m:
                end, suffix = end + m.end(), _CODE_SUFFIXES[m[1].upper()]
        if _is_word_char(entry.alias[0]) and start > 0 and _is_word_char(text[start - 1]):
            return None
        if _is_word_char(entry.alias[-1]) and end < len(text) and _is_word_char(text[end]):
            return None
        return start, end, suffix

    def _choose(self, text: str, start: int, end: int, candidates: list[str], entry: _Entry,
                bounded: list[tuple[_Entry, tuple[int, int, str]]]) -> tuple[str, float, tuple[str, ...]]:
        primary = candidates[0]
        confidence = _ORIGIN_CONFIDENCE[entry.origin]
        if len(candidates) == 1:
            return primary, confidence, ()
        related = set(self.instruments[primary].alt_tickers) | {primary}
        if all(t in related for t in candidates):
            # one company, several listings: the market named nearby decides, else the primary listing
            for t in candidates:
                cue_set = _MARKET_CUES.get(self.instruments[t].market or "")
                if t != primary and cue_set and self._has_cue(text, start, end, cue_set, "positive"):
                    return t, confidence, tuple(c for c in candidates if c != t)
            return primary, confidence, tuple(candidates[1:])
        best_rank = _ORIGIN_RANK[entry.origin]
        tied = [t for e, _ in bounded if _ORIGIN_RANK[e.origin] == best_rank for t in e.tickers]
        if len(set(tied)) == 1:
            return primary, confidence * 0.9, tuple(candidates[1:])
        for cue_set, kind in (("index", "index"),):
            if self._has_cue(text, start, end, cue_set, "positive"):
                for t in tied:
                    if self.instruments[t].kind == kind:
                        return t, 0.7, tuple(c for c in candidates if c != t)
        return primary, AMBIGUOUS_CONFIDENCE, tuple(candidates[1:])

    def _compound(self, text: str, start: int, entry: _Entry) -> list[Mention]:
        end = start + len(entry.alias)
        confidence = _ORIGIN_CONFIDENCE[entry.origin]
        if entry.needs_context:
            confidence = self._context_confidence(text, start, end, entry.needs_context, confidence)
            if confidence is None:
                return []
        return [Mention(start + a, start + b, text[start + a:start + b], self.instruments[t], confidence)
                for (a, b), t in zip(entry.parts or (), entry.tickers, strict=True)]

    def _context_confidence(self, text: str, start: int, end: int, cue_set: str, confidence: float
                            ) -> float | None:
        """None when the context rules the match out, the ambiguous confidence when it cannot tell."""
        verdict = self._context(text, start, end, cue_set)
        if verdict is False:
            return None
        return AMBIGUOUS_CONFIDENCE if verdict is None else confidence

    def _has_cue(self, text: str, start: int, end: int, cue_set: str, polarity: str,
                 window: int = _CUE_WINDOW) -> bool:
        cues = self._cues.get((cue_set, polarity), ())
        if not cues:
            return False
        around = text[max(0, start - window):start] + "\x00" + text[end:end + window]
        return any(cue in around for cue in cues)

    def _context(self, text: str, start: int, end: int, cue_set: str) -> bool | None:
        """False: a negative cue says it is not the instrument; True: a positive cue; None: no cue."""
        if cue_set == _CN_GENERIC:
            return not self._goes_on_as_phrase(text, end)
        if cue_set == _BANK_PLACE:
            return not self._another_place(text, start)
        if self._has_cue(text, start, end, cue_set, "negative", _NEGATIVE_WINDOW):
            return False
        if not self._cues.get((cue_set, "positive")):
            return True  # a set of negative cues only: the word links unless one is near
        window = _STRICT_CUE_SETS.get(cue_set, _CUE_WINDOW)
        return True if self._has_cue(text, start, end, cue_set, "positive", window) else None

    def _another_place(self, text: str, start: int) -> bool:
        """土耳其央行, 新西兰联储, 巴西、墨西哥等国央行: a place other than China or the US written right
        before the bank's generic name (a positive cue, 中国/我国/全国/美国, keeps it)."""
        before = text[max(0, start - _BANK_PLACE_WINDOW):start]
        if before.endswith(self._cues.get((_BANK_PLACE, "positive"), ())):
            return False
        return before.endswith(self._cues.get((_BANK_PLACE, "negative"), ()))

    def _goes_on_as_phrase(self, text: str, end: int) -> bool:
        """中国黄金协会, 中国石油需求, 中国电影票房: the name's words go on as a phrase about the country.
        The cue must follow the name (an optional 的 between), not merely be near it: 中国黄金发布业绩预告
        is the company (业 of 业绩 is no 行业)."""
        after = text[end:end + 8]
        after = after[1:] if after.startswith("的") else after
        if after.startswith(_CN_COMPANY_WORDS):
            return False
        return any(after.startswith(cue) for cue in self._cues.get((_CN_GENERIC, "negative"), ()))

    def _strict_cue(self, text: str, start: int, end: int, cue_set: str, bounds: tuple[int, int]) -> bool:
        """A stock cue right next to an everyday-word name, in its clause and before any other match."""
        window = _STRICT_CUE_SETS[cue_set]
        lo, hi = bounds if bounds[1] >= 0 else (0, len(text))
        before = _CLAUSE_END.split(text[max(lo, start - window):start])[-1]
        after = _CLAUSE_END.split(text[end:min(hi, end + window)], maxsplit=1)[0]
        around = before + "\x00" + after
        if self._has_cue(text, start, end, cue_set, "negative", _NEGATIVE_WINDOW):
            return False
        return any(cue in around for cue in self._cues.get((cue_set, "positive"), ()))

    @staticmethod
    def _speaks(text: str, start: int, end: int, cues: tuple[str, ...]) -> bool:
        if _OWN_RESULTS.match(text, end):
            return False
        if text[max(0, start - 2):start].endswith(("据", "根据")) or _COLON_SPEECH.match(text, end):
            return True
        after = _SENTENCE_END.split(text[end:end + _SPEECH_WINDOW], maxsplit=1)[0]
        return any(cue in after for cue in cues)

    @staticmethod
    def _forecasting(text: str, mentions: list[Mention]) -> list[Mention]:
        """A broker's 预计…净利润 is its own results (国盛证券预计2025年归母净利润…) unless its sentence
        names a company or an index before it or frames a topic (对于/关于/谈及/针对/展望/至于):
        对于贵州茅台，国泰君安预计全年净利润增长20%, 维持贵州茅台评级，中信证券预计…, 展望2026年A股，
        中信证券预计… forecast someone else's figures, so the broker speaks."""
        out = mentions
        for i, m in enumerate(mentions):
            if m.role_hint is not None or not m.instrument.speaker or not text.startswith(_FORECAST, m.end):
                continue
            opening = max(text.rfind(c, 0, m.start) for c in _SENTENCE_ENDS) + 1
            if _TOPIC_FRAME.search(text, opening, m.start) or any(
                    opening <= o.start and o.end <= m.start and o.instrument.kind in ("equity", "index")
                    and not o.instrument.speaker for o in mentions):
                out = list(out) if out is mentions else out
                out[i] = replace(m, role_hint="speaker")
        return out

    @staticmethod
    def _apply_discourse(mentions: list[Mention], strict: set[int]) -> list[Mention]:
        """One sense per text: a word left ambiguous by its own context is raised to a link when the
        same instrument is named with confidence elsewhere (大众 ... 大众汽车, 苹果 ... 苹果股价)."""
        sure = {m.instrument.ticker for m in mentions if m.confidence >= MIN_CONFIDENCE}
        return [Mention(m.start, m.end, m.text, m.instrument, 0.7, m.role_hint, m.alternatives)
                if m.confidence < MIN_CONFIDENCE and not m.alternatives and m.start not in strict
                and m.instrument.ticker in sure else m
                for m in mentions]


def instruments(path: str | os.PathLike[str] | None = None) -> Mapping[str, Instrument]:
    """ticker -> Instrument of the reference data (``path`` as in ``Linker.from_data``), without the
    aliases and the matcher a linker builds: what needs an instrument's market costs a CSV read."""
    return _cached_instruments(_data_dir(path))  # the very table a linker of the directory uses


@functools.lru_cache(maxsize=4)
def _cached_instruments(directory: Path) -> _Instruments:
    rows = _read(directory / "instruments.csv", _INSTRUMENT_COLUMNS)
    return _Instruments({r[0]: r for r in rows})


@functools.lru_cache(maxsize=4)
def _cached_linker(directory: Path) -> Linker:
    instruments = _cached_instruments(directory)
    aliases = _read(directory / "aliases.csv", ("alias", "ticker", "origin", "needs_context"))
    rules = directory / "context_rules.csv"
    cues = _read(rules, ("cue_set", "polarity", "cue")) if rules.is_file() else []
    linker = Linker(instruments, aliases, cues)
    linker.data_hash = reference_data_hash(directory)
    return linker


def reference_data_hash(directory: str | os.PathLike[str] | None = None) -> str:
    """Hash of the files a linker for ``directory`` is built from (default: as ``Linker.from_data``),
    without building it."""
    directory = _data_dir(directory)
    digest = hashlib.sha256()
    for name in ("instruments.csv", "aliases.csv", "context_rules.csv"):
        path = directory / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    return digest.hexdigest()[:16]
