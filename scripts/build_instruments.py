"""Build data/instruments/instruments.csv and aliases.csv from data/reference/ and the curated files.

Run: .venv/bin/python scripts/build_instruments.py [--check]
The output is deterministic (sorted rows, fixed line endings): running it twice gives identical bytes.
With --check it writes nothing and exits 1 when the committed files differ from a fresh build.

Inputs (all read-only here):
  data/reference/*.csv               exchange lists and hand-made name tables (see data/reference/SOURCES.md)
  data/instruments/curated_instruments.csv   policy bodies, institutions, extra indices
  data/instruments/curated_aliases.csv       nicknames, context-dependent words, compounds, blocked words
  data/instruments/speakers.csv              institutions whose research is quoted (role_hint speaker)
  data/instruments/generic_names.csv         short names that are everyday words, phrases or places
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "data" / "reference"
OUT = ROOT / "data" / "instruments"

# Yahoo suffix -> (MIC, currency, benchmark)
SUFFIX_MARKET: dict[str, tuple[str, str, str | None]] = {
    "SS": ("XSHG", "CNY", "000300.SS"),
    "SZ": ("XSHE", "CNY", "000300.SS"),
    "BJ": ("XBSE", "CNY", "000300.SS"),
    "HK": ("XHKG", "HKD", "^HSI"),
    "T": ("XTKS", "JPY", "^N225"),
    "KS": ("XKRX", "KRW", "^KS11"),
    "KQ": ("XKOS", "KRW", "^KQ11"),
    "TW": ("XTAI", "TWD", "^TWII"),
    "L": ("XLON", "GBP", "^FTSE"),
    "DE": ("XETR", "EUR", "^GDAXI"),
    "PA": ("XPAR", "EUR", "^FCHI"),
    "AS": ("XAMS", "EUR", "^AEX"),
    "SW": ("XSWX", "CHF", "^SSMI"),
    "MI": ("XMIL", "EUR", "FTSEMIB.MI"),
    "MC": ("XMAD", "EUR", "^IBEX"),
    "CO": ("XCSE", "DKK", None),
    "ST": ("XSTO", "SEK", None),
    "HE": ("XHEL", "EUR", None),
    "OL": ("XOSL", "NOK", None),
    "AX": ("XASX", "AUD", "^AXJO"),
    "SR": ("XSAU", "SAR", None),
    "NS": ("XNSE", "INR", "^NSEI"),
}
US_EXCHANGE = {"NASDAQ": "XNAS", "NYSE": "XNYS", "AMEX": "XASE"}

# Home exchange MIC and currency of each index (an index gets the MIC of the market it measures).
INDEX_MARKET: dict[str, tuple[str, str]] = {
    "000001.SS": ("XSHG", "CNY"), "000016.SS": ("XSHG", "CNY"), "000300.SS": ("XSHG", "CNY"),
    "000905.SS": ("XSHG", "CNY"), "000852.SS": ("XSHG", "CNY"), "000688.SS": ("XSHG", "CNY"),
    "399001.SZ": ("XSHE", "CNY"), "399006.SZ": ("XSHE", "CNY"),
    "^HSI": ("XHKG", "HKD"), "^HSCE": ("XHKG", "HKD"), "HSTECH.HK": ("XHKG", "HKD"),
    "^DJI": ("XNYS", "USD"), "^GSPC": ("XNYS", "USD"), "^IXIC": ("XNAS", "USD"), "^NDX": ("XNAS", "USD"),
    "^SOX": ("XNAS", "USD"), "^RUT": ("XNYS", "USD"), "^VIX": ("XNYS", "USD"),
    "^N225": ("XTKS", "JPY"), "^KS11": ("XKRX", "KRW"), "^TWII": ("XTAI", "TWD"), "^FTSE": ("XLON", "GBP"),
    "^GDAXI": ("XETR", "EUR"), "^FCHI": ("XPAR", "EUR"), "^STOXX50E": ("XETR", "EUR"),
    "^AXJO": ("XASX", "AUD"), "^BSESN": ("XBOM", "INR"), "^NSEI": ("XNSE", "INR"), "^STI": ("XSES", "SGD"),
}
CATEGORY_KIND = {"commodity": "commodity", "crypto": "fx", "index": "index", "fx": "fx", "rate": "rate",
                 "etf": "equity"}

HK_SUFFIX = re.compile(r"-(?:W|SW|S|B|P)$")
HK_RMB_COUNTER = re.compile(r"-(?:R|WR|SWR)$")
LISTING_DAY = re.compile(r"[CN](?=[\u4e00-\u9fff])")  # C/N before a new listing's name (C丰倍)
STAR_SUFFIX = re.compile(r"-(?:U|W|UW|WD)$")  # STAR/ChiNext markers: unprofitable (U), weighted votes (W)
CORP_SUFFIX_ZH = re.compile(r"(?:股份有限公司|有限公司|集团股份|集团|控股|股份)$")
CJK = re.compile(r"[\u4e00-\u9fff]")
EN_CORP = re.compile(
    r"(?:,?\s+(?:Inc\.?|Corporation|Corp\.?|Co\.,?|Company|Ltd\.?|Limited|plc|p\.l\.c\.|PLC|Holdings?|Group|"
    r"N\.V\.|S\.A\.|SE|AG|A/S|ASA|Oyj|S\.p\.A\.|SCA|Class [A-C]|\(Pref\)|ADR|ADS|\(US listing\)|"
    r"& Co\.?))+$"
)
US_SECURITY_TAIL = re.compile(
    r"\s+(?:Class [A-Z] )?(?:Common Stock|Ordinary Shares?|American Depositary Shares?|Depositary Shares?|"
    r"ADS|New York Registry Shares|Common Shares|Units?|Warrants?|Rights?|Subordinate Voting Shares)\b.*$"
)

# A US listing's English name is an alias only for the listed equity line itself.
US_EQUITY_LINE = re.compile(
    r"(?:Common Stock|Ordinary Shares?|American Depositary Shares?|Common Shares|New York Registry Shares|"
    r"Subordinate Voting Shares)\s*$")
US_NAME_TAIL = re.compile(r"(?:\s*\(The\)|,?\s+(?:Incorporated|Inc|Corp|Co|Ltd)\.?)+$", re.IGNORECASE)
# Short names that start with a time word read as a phrase (今天国际 in 今天国际金价): they need a stock cue.
TIME_WORD_PREFIXES = ("今天", "明天", "昨天", "今日", "明日", "昨日", "今年", "明年", "去年", "未来", "当前",
                      "目前", "近日", "日前")

# Aliases that must never link to a company (checked again by the tests).
NEVER_ALIASES = {"中国", "美国", "中金所", "平安", "大盘", "沪市", "华尔街", "科技", "银行", "证券"}

ORIGIN_RANK = {"block": 0, "curated": 1, "name": 2, "variant": 3, "english": 3, "code": 4, "ticker": 4}
MARKET_RANK = {"XSHG": 0, "XSHE": 0, "XBSE": 0, "XHKG": 1, "XNYS": 2, "XNAS": 2, "XASE": 2}


@dataclass
class Inst:
    ticker: str
    name: str
    kind: str
    market: str = ""
    currency: str = ""
    benchmark: str = ""
    full_name: str = ""
    english_name: str = ""
    alt_tickers: set[str] = field(default_factory=set)
    tradable: bool = True
    speaker: bool = False


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def halfwidth(s: str) -> str:
    """Full-width ASCII (万科Ａ) to half-width; other characters untouched."""
    half = "".join(chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in s)
    return half.replace("\u3000", " ")


def market_of(ticker: str) -> tuple[str, str, str | None]:
    if "." in ticker:
        suffix = ticker.rsplit(".", 1)[1]
        if suffix in SUFFIX_MARKET:
            return SUFFIX_MARKET[suffix]
    raise ValueError(f"no market for {ticker}")


def us_name_candidate(full: str) -> str | None:
    """The company part of a US listing name: 'Century Aluminum Company Common Stock' -> Century Aluminum.
    Never a shorter form (Lattice for Lattice Semiconductor): the first word alone is too often another
    thing (Meta's Lattice model, the start-up Cognition)."""
    short, previous = US_SECURITY_TAIL.sub("", full).strip(), ""
    while short != previous:  # Mosaic Company (The): the suffixes come in either order
        previous = short
        short = US_NAME_TAIL.sub("", EN_CORP.sub("", short).strip(" ,")).strip(" ,")
    if short.lower().startswith("the "):
        short = short[4:]
    return short if re.search(r"[A-Za-z]", short) else None


def hk_yahoo(code5: str) -> str:
    return (code5[1:] if len(code5) == 5 and code5.startswith("0") else code5) + ".HK"


class Builder:
    def __init__(self) -> None:
        self.inst: dict[str, Inst] = {}
        # (alias, ticker) -> (origin, needs_context); the best-ranked origin is kept
        self.aliases: dict[tuple[str, str], tuple[str, str]] = {}

    # ---- instruments -------------------------------------------------------------------------
    def add_equity(self, ticker: str, name: str, market: str, currency: str, benchmark: str | None,
                   **extra: str) -> Inst:
        inst = self.inst.get(ticker)
        if inst is None:
            inst = Inst(ticker, name, "equity", market, currency, benchmark or "")
            self.inst[ticker] = inst
        for key, value in extra.items():
            if value and not getattr(inst, key):
                setattr(inst, key, value)
        return inst

    def alias(self, alias: str, ticker: str, origin: str, needs_context: str = "") -> None:
        alias = halfwidth(alias).strip()
        if not alias or (alias in NEVER_ALIASES and origin != "block"):
            return
        if origin != "block" and not self._acceptable(alias, origin):
            return
        key = (alias, ticker)
        old = self.aliases.get(key)
        if old is None or ORIGIN_RANK[origin] < ORIGIN_RANK[old[0]]:
            self.aliases[key] = (origin, needs_context or (old[1] if old else ""))

    @staticmethod
    def _acceptable(alias: str, origin: str) -> bool:
        plain = alias.replace("|", "")
        if plain.isascii():
            letters = sum(c.isalnum() for c in plain)
            if letters < 2:
                return False
            # short ASCII words only as upper-case ticker-like tokens; 'au', 'Sea' are too common
            return len(plain) >= 4 or plain.upper() == plain
        cjk = len(CJK.findall(plain))
        if origin == "variant":
            return cjk >= 3 or (cjk >= 2 and len(plain) > cjk)  # 2-char stems (北京, 龙头) are words
        return True

    def load_a_shares(self) -> None:
        english = {}
        for row in read_csv(REF / "a_shares_en.csv"):
            code, venue = row["Symbol"].split(".")
            english[code + (".SS" if venue == "XSHG" else ".SZ")] = row["Name"].strip()
        for row in read_csv(REF / "stocks_index_multi.csv"):
            if row["market"] not in ("CN", "BSE"):
                continue
            code, suffix = row["canonicalCode"].split(".")
            ticker = f"{code}.{'SS' if suffix == 'SH' else suffix}"
            market, currency, bench = market_of(ticker)
            name = halfwidth(row["nameZh"])
            self.add_equity(ticker, name, market, currency, bench, english_name=english.get(ticker, ""))
            self.name_aliases(ticker, name)
            self.alias(code, ticker, "code")
            if ticker in english:
                self.english_alias(english[ticker], ticker, strict=True)
            if name.endswith("证券"):
                self.inst[ticker].speaker = True

    def load_former_a_share_names(self) -> None:
        """Short names of the older A-share list that the newest list changed (a rename, ST put on or
        lifted: *ST华微 is 华微电子 now, 纳思达 is 奔图科技): news of the months around a change uses
        either. Variants only, so a company's current name outranks another's former one."""
        for row in read_csv(REF / "a_shares_2025_11.csv"):
            code, suffix = row["ts_code"].split(".")
            ticker = f"{code}.{'SS' if suffix == 'SH' else suffix}"
            name = halfwidth(row["name"])
            if LISTING_DAY.match(name):
                continue  # C丰倍, N大明: the first days' marker, not a name
            if ticker in self.inst and name != self.inst[ticker].name:
                self.name_aliases(ticker, name, origin="variant")

    def name_aliases(self, ticker: str, name: str, origin: str = "name") -> None:
        self.alias(name, ticker, origin)
        stem = STAR_SUFFIX.sub("", HK_SUFFIX.sub("", name))
        if stem.startswith("*ST"):
            self.alias(stem[1:], ticker, "variant")  # the press often drops the asterisk
        stem = re.sub(r"^\*?ST", "", stem)
        stem = re.sub(r"(?<=[\u4e00-\u9fff])[AB]$", "", stem)  # 万科A, 京东方A
        for candidate in (stem, CORP_SUFFIX_ZH.sub("", stem)):
            if candidate != name:
                self.alias(candidate, ticker, "variant")

    def english_alias(self, english: str, ticker: str, *, strict: bool = False) -> None:
        """English names; strict (exchange short names in capitals) keeps single words only if long."""
        english = english.strip()
        for candidate in {english, EN_CORP.sub("", english).strip(" ,")}:
            if candidate.lower().startswith("the "):
                candidate = candidate[4:]
            if strict and " " not in candidate and len(candidate) < 6:
                continue
            if len(candidate) >= 4:
                self.alias(candidate, ticker, "english")

    def load_hk(self) -> None:
        english = {}
        for row in read_csv(REF / "hk_stocks_en.csv"):
            if not HK_RMB_COUNTER.search(row["Name"]):
                english[row["Symbol"]] = row["Name"].strip()
        for row in read_csv(REF / "stocks_index_multi.csv"):
            if row["market"] != "HK" or HK_RMB_COUNTER.search(row["nameZh"]):
                continue
            ticker = hk_yahoo(row["displayCode"])
            name = halfwidth(row["nameZh"])
            self.add_equity(ticker, name, "XHKG", "HKD", "^HSI", english_name=english.get(ticker, ""))
            self.name_aliases(ticker, name)
            self.alias(row["displayCode"], ticker, "code")
            self.alias(ticker, ticker, "code")
            if ticker in english:
                self.english_alias(english[ticker], ticker, strict=True)
            if name.endswith("证券"):
                self.inst[ticker].speaker = True

    def load_us(self) -> None:
        for row in read_csv(REF / "us_listed.csv"):
            ticker = row["symbol"].strip().replace("/", "-")
            if not re.fullmatch(r"[A-Z][A-Z0-9.\-]*", ticker):
                continue
            full = row["name"].strip()
            short = US_SECURITY_TAIL.sub("", full).strip() or full
            self.add_equity(ticker, short, US_EXCHANGE[row["exchange"]], "USD", "^GSPC", full_name=full,
                            english_name=short)
            if len(ticker) >= 3:
                self.alias(ticker, ticker, "ticker")
        for row in read_csv(REF / "sp500_constituents.csv"):
            ticker = row["Symbol"].replace(".", "-")
            if ticker in self.inst:
                self.english_alias(row["Security"], ticker)

    def load_us_english(self) -> None:
        """English names of US equity lines (CoreWeave, Qorvo, Century Aluminum), run after every other
        source: a name already used by another alias, shared by several lines (share classes), shorter
        than 4 characters or a single word that is English or a name in common use (Target, Mosaic,
        Orion, Schmid, Atif: common_words_en.txt) is not added."""
        common = set((REF / "common_words_en.txt").read_text(encoding="utf-8").split())
        taken = {alias.lower() for alias, _t in self.aliases}
        by_name: dict[str, set[str]] = defaultdict(set)
        spelled: dict[str, str] = {}
        for row in read_csv(REF / "us_listed.csv"):
            ticker = row["symbol"].strip().replace("/", "-")
            if ticker not in self.inst or not US_EQUITY_LINE.search(row["name"].strip()):
                continue
            candidate = us_name_candidate(row["name"].strip())
            key = (candidate or "").lower()
            if len(key) >= 4 and key not in common and key not in taken:
                by_name[key].add(ticker)
                spelled.setdefault(key, candidate or "")
        for key, tickers in by_name.items():
            if len(tickers) == 1:
                self.alias(spelled[key], next(iter(tickers)), "english")

    def load_us_zh(self) -> None:
        for row in read_csv(REF / "us_stocks_zh.csv"):
            ticker = row["yahoo_symbol"]
            market = US_EXCHANGE[row["exchange"]]
            inst = self.add_equity(ticker, row["name_zh"], market, "USD", "^GSPC")
            inst.name, inst.english_name, inst.market = row["name_zh"], row["name_en"], market
            self.alias(row["name_zh"], ticker, "name")
            for alias in filter(None, row["aliases_zh"].split(";")):
                self.alias(alias, ticker, "curated")
            self.english_alias(row["name_en"], ticker)
            for other in re.findall(r"also (\d{4}\.HK)", row["note"]):
                self.pair(ticker, other)

    def load_intl(self) -> None:
        stale = {"035720.KQ", "091990.KQ"}  # see SOURCES.md traps
        for row in read_csv(REF / "intl_stocks_zh.csv"):
            ticker = row["yahoo_symbol"]
            market, currency, bench = market_of(ticker)
            inst = self.add_equity(ticker, row["name_zh"], market, currency, bench)
            inst.name, inst.english_name = row["name_zh"], row["name_en"]
            self.alias(row["name_zh"], ticker, "name")
            self.alias(ticker, ticker, "code")
            for alias in filter(None, row["aliases_zh"].split(";")):
                self.alias(alias, ticker, "curated")
            self.english_alias(row["name_en"], ticker)
        for path in ("jp_stocks_zh.csv", "kr_stocks_zh.csv"):
            for row in read_csv(REF / path):
                ticker = row["ts_code"]
                if ticker in stale:
                    continue
                market, currency, bench = market_of(ticker)
                self.add_equity(ticker, row["name"], market, currency, bench, english_name=row["enname"])
                self.alias(row["name"], ticker, "name")
                self.alias(ticker, ticker, "code")
                for alias in filter(None, row["aliases"].split("|")):
                    self.alias(alias, ticker, "curated")
                self.english_alias(row["enname"], ticker)

    def load_non_equity(self) -> None:
        for row in read_csv(REF / "instruments_zh.csv"):
            ticker, kind = row["yahoo_symbol"], CATEGORY_KIND[row["category"]]
            if kind == "index":
                market, currency = INDEX_MARKET[ticker]
            elif kind == "commodity":
                market, currency = "CMES", "USD"
            elif kind == "fx":
                market, currency = "FX", ticker[:3] if ticker.endswith("=X") and len(ticker) == 5 else "USD"
            elif kind == "rate":
                market, currency = "XNYS", "USD"
            else:  # ETFs trade like equities; NYSE Arca ones are missing from us_listed.csv
                self.add_equity(ticker, row["name_zh"], "XNYS", "USD", "^GSPC", english_name=row["name_en"])
                self.inst[ticker].name = row["name_zh"]
                self.alias(row["name_zh"], ticker, "name")
                for alias in filter(None, row["aliases_zh"].split(";")):
                    self.alias(alias, ticker, "curated")
                continue
            self.inst[ticker] = Inst(ticker, row["name_zh"], kind, market, currency, "",
                                     english_name=row["name_en"])
            self.alias(row["name_zh"], ticker, "name")
            if kind == "fx" and "兑" in row["name_zh"]:  # 美元/日元 is the pair 美元兑日元, not a list
                self.alias(row["name_zh"].replace("兑", "/"), ticker, "variant")
            if re.fullmatch(r"\d{6}\.S[SZ]", ticker):
                self.alias(ticker[:6], ticker, "code")  # 000001 is also 平安银行: context decides
            for alias in filter(None, row["aliases_zh"].split(";")):
                self.alias(alias, ticker, "curated")

    def load_curated(self) -> None:
        for row in read_csv(OUT / "curated_instruments.csv"):
            ticker, kind = row["ticker"], row["kind"]
            inst = Inst(ticker, row["name"], kind, row["market"], row["currency"], "",
                        english_name=row["english_name"], tradable=not ticker.startswith("@"))
            if kind == "equity":
                inst.benchmark = market_of(ticker)[2] or ""
            inst.speaker = kind in ("institution", "policy_body")
            self.inst[ticker] = inst
            self.alias(row["name"], ticker, "name")
        for row in read_csv(OUT / "speakers.csv"):
            self.inst[row["ticker"]].speaker = True
        for row in read_csv(REF / "company_aliases_zh.csv"):
            ticker = row["yahoo_symbol"]
            self.alias(row["alias_zh"], ticker, "curated")
            for other in filter(None, row["alt_listings"].split(";")):
                self.pair(ticker, other)
        for row in read_csv(OUT / "curated_aliases.csv"):
            tickers = row["ticker"]
            for t in filter(None, tickers.split("|")):
                if t not in self.inst:
                    raise SystemExit(f"curated_aliases.csv: unknown ticker {t} for {row['alias']}")
            if not tickers:
                self.alias(row["alias"], "", "block")
            else:
                self.alias(row["alias"], tickers, "curated", row["needs_context"])

    def pair(self, a: str, b: str) -> None:
        if a in self.inst and b in self.inst:
            self.inst[a].alt_tickers.add(b)
            self.inst[b].alt_tickers.add(a)

    def pair_a_h(self) -> None:
        """A+H pairs: same short name once HKEX suffixes and a trailing 股份 are removed."""
        by_name: dict[str, list[str]] = defaultdict(list)
        for t, inst in self.inst.items():
            if inst.market in ("XSHG", "XSHE", "XHKG") and inst.kind == "equity":
                key = re.sub(r"股份$", "", HK_SUFFIX.sub("", inst.name))
                by_name[key].append(t)
        for tickers in by_name.values():
            a_lines = [t for t in tickers if not t.endswith(".HK")]
            h_lines = [t for t in tickers if t.endswith(".HK")]
            if len(a_lines) == 1 and len(h_lines) == 1:
                self.pair(a_lines[0], h_lines[0])
                # the HK line answers to the A-share name too (比亚迪 -> 1211.HK when 港股 is near)
                self.alias(self.inst[a_lines[0]].name, h_lines[0], "variant")

    def apply_context_overrides(self) -> None:
        """A needs_context given in curated_aliases.csv applies to every row of that alias."""
        forced = {}
        for row in read_csv(OUT / "curated_aliases.csv"):
            if row["needs_context"]:
                forced[row["alias"]] = row["needs_context"]
        generic = {row["alias"] for row in read_csv(OUT / "generic_names.csv")}
        for (alias, ticker), (origin, _ctx) in list(self.aliases.items()):
            if alias in forced:
                self.aliases[(alias, ticker)] = (origin, forced[alias])
            elif origin != "block" and (alias in generic or (
                    alias.startswith(TIME_WORD_PREFIXES) and len(alias) <= 4)):  # not 未来发展控股
                # everyday words, phrases and place names (机器人, 未来发展, 天津港): a stock cue must be
                # right next to them
                self.aliases[(alias, ticker)] = (origin, "listed")
            elif len(alias) == 1 and ticker in self.inst:
                if self.inst[ticker].kind != "commodity":
                    del self.aliases[(alias, ticker)]  # one character is a word, not a name
                else:
                    self.aliases[(alias, ticker)] = (origin, "commodity")  # 糖 in 核糖体
            elif alias.startswith("中国") and len(alias) > 3 and (origin in ("name", "variant") or (
                    origin == "curated" and ticker in self.inst and self.inst[ticker].kind == "equity")):
                # 中国电影, 中国黄金: a company unless the words go on as 中国电影市场, 中国黄金协会; the
                # curated A-share names too (中国石油需求 is China's oil demand, not PetroChina)
                self.aliases[(alias, ticker)] = (origin, "cn_generic")

    def build(self) -> None:
        self.load_a_shares()
        self.load_former_a_share_names()
        self.load_hk()
        self.load_us()
        self.load_us_zh()
        self.load_intl()
        self.load_non_equity()
        self.load_curated()
        self.load_us_english()
        self.pair_a_h()
        self.apply_context_overrides()
        unknown = {t for (_a, ts) in self.aliases for t in ts.split("|") if t and t not in self.inst}
        if unknown:
            raise SystemExit(f"aliases point to unknown tickers: {sorted(unknown)[:10]}")
        blocked = {a for (a, t), (o, _c) in self.aliases.items() if o == "block"}
        for key in [k for k, v in self.aliases.items() if k[0] in blocked and v[0] != "block"]:
            del self.aliases[key]

    # ---- output ----------------------------------------------------------------------------
    def instruments_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["ticker", "name", "kind", "market", "currency", "benchmark", "full_name", "english_name",
                    "alt_tickers", "tradable", "speaker"])
        for t in sorted(self.inst):
            i = self.inst[t]
            w.writerow([i.ticker, i.name, i.kind, i.market, i.currency, i.benchmark, i.full_name,
                        i.english_name, ";".join(sorted(i.alt_tickers)), int(i.tradable), int(i.speaker)])
        return buf.getvalue()

    def aliases_csv(self) -> str:
        def rank(item: tuple[tuple[str, str], tuple[str, str]]) -> tuple:
            (alias, ticker), (origin, _ctx) = item
            first = ticker.split("|")[0]
            market = self.inst[first].market if first in self.inst else ""
            return (alias, ORIGIN_RANK[origin], MARKET_RANK.get(market, 3), ticker)

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["alias", "ticker", "origin", "needs_context"])
        for (alias, ticker), (origin, ctx) in sorted(self.aliases.items(), key=rank):
            w.writerow([alias, ticker, origin, ctx])
        return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed files; write nothing")
    args = parser.parse_args(argv)
    builder = Builder()
    builder.build()
    outputs = {OUT / "instruments.csv": builder.instruments_csv(), OUT / "aliases.csv": builder.aliases_csv()}
    stale = [p for p, text in outputs.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for p in stale:
            print(f"{p.relative_to(ROOT)} is out of date: run scripts/build_instruments.py", file=sys.stderr)
        return 1 if stale else 0
    for p, text in outputs.items():
        p.write_text(text, encoding="utf-8", newline="")
    print(f"{len(builder.inst)} instruments, {len(builder.aliases)} aliases", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
