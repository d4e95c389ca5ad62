"""Chinese financial magnitudes: numerals, 万/亿 multipliers, %, bp, ranges, bounds -> ``Magnitude``.

A dedicated grammar rather than a general number recogniser, because the common cases in Chinese
financial news are exactly what generic parsers get wrong (docs/numbers.md lists them): 1.2万亿,
0.5个百分点 (a point change, i.e. 50 bp), 69.23%-93.40% (a range, not a negative number), 四到六成,
翻番. All arithmetic is ``decimal.Decimal``: 4.66亿 is exactly 466000000.

The text is first folded to half-width one character for one character (``fold_width``), so every
span found in the folded text is a span of the original text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation, localcontext
from types import MappingProxyType
from typing import Any

import regex

__all__ = [
    "CURRENCY_WORDS",
    "PERCENT_UNITS",
    "UNITS",
    "Magnitude",
    "PriceChange",
    "find_magnitudes",
    "find_price_change",
    "fold_width",
    "one_to_one_translator",
    "parse_magnitude",
    "parse_number",
    "to_chinese_numeral",
]

# --------------------------------------------------------------------------------------------
# Records and vocabulary
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Magnitude:
    """One amount in a text. ``value`` is set for point amounts, ``low``/``high`` for ranges only."""

    value: Decimal | None
    low: Decimal | None
    high: Decimal | None
    unit: str
    bound: str  # exact | about | at_least | at_most | range
    approximate: bool
    start: int
    end: int
    text: str
    swapped: bool = False  # a range written high-to-low (10%-5%); low/high are already in order


@dataclass(frozen=True)
class PriceChange:
    """A (target) price moved from ``old`` to ``new`` in the quote ``currency``; either may be None."""

    old: Decimal | None
    new: Decimal | None
    currency: str | None
    change_pct: Decimal | None  # (new - old) / old * 100, two decimals; None unless both are known
    direction: int = 0  # +1 raised, -1 cut, 0 unknown / merely stated
    start: int = 0
    end: int = 0
    text: str = ""
    unit: str = "price"


CURRENCY_WORDS: Mapping[str, str] = MappingProxyType({
    "元": "CNY", "人民币": "CNY", "元人民币": "CNY",
    "美元": "USD", "美金": "USD",
    "港元": "HKD", "港币": "HKD",
    "欧元": "EUR",
    "日元": "JPY", "日圆": "JPY",
    "韩元": "KRW",
    "英镑": "GBP",
    "新台币": "TWD", "台币": "TWD",
    "澳元": "AUD", "加元": "CAD", "瑞郎": "CHF", "新加坡元": "SGD", "卢布": "RUB", "印尼盾": "IDR",
    "印尼卢比": "IDR", "卢比": "INR",
})

# Every currency code an amount can carry: what a rule's `units: [money]` accepts.
MONEY_UNITS: tuple[str, ...] = tuple(sorted(set(CURRENCY_WORDS.values())))

# Units that are rates: `pct` (percent) and `bp` (basis points; a 百分点 change is reported in bp).
PERCENT_UNITS: frozenset[str] = frozenset({"pct", "bp"})

# Every unit code find_magnitudes can return (``price`` only appears on PriceChange).
UNITS: frozenset[str] = frozenset(
    {"pct", "bp", "multiple", "tonnes", "barrels", "ounces", "shares", "points", "count", "price"}
    | set(CURRENCY_WORDS.values())
)

_CURRENCY_SYMBOLS = {"US$": "USD", "HK$": "HKD", "$": "USD", "¥": "CNY", "￥": "CNY", "€": "EUR", "£": "GBP"}

# Rate words: surface -> (unit, factor applied to the written number).
_RATE_WORDS = {
    "%": ("pct", 1), "成": ("pct", 10),
    "个百分点": ("bp", 100), "百分点": ("bp", 100),
    "个基点": ("bp", 1), "基点": ("bp", 1), "bp": ("bp", 1), "bps": ("bp", 1),
    "倍": ("multiple", 1),
}
_RATE_PREFIXES = {"百分之": Decimal(1), "千分之": Decimal("0.1"), "万分之": Decimal("0.01")}
_CENTS = {"美分": ("USD", Decimal("0.01")), "港仙": ("HKD", Decimal("0.01"))}
_PHYSICAL = {"吨": "tonnes", "公吨": "tonnes", "桶": "barrels", "盎司": "ounces", "股": "shares",
             "点": "points"}
# Measure words after a number: the number is a `count` of something.
_COUNTERS = ("个", "家", "辆", "台", "名", "位", "人", "户", "次", "架", "艘", "部", "套", "件", "项",
             "张", "份", "笔", "款", "座", "只", "枚", "颗", "支", "条", "手", "批", "轮", "宗", "例", "人次",
             "层", "种", "类")
# A number before these is a date, time or duration, never a magnitude.
_TIME_WORDS = ("年期", "年代", "年", "个月", "月份", "月", "日", "号", "天", "周年", "周", "个星期", "星期",
               "个小时", "小时", "时", "分钟", "分", "秒", "个交易日", "交易日", "个工作日", "工作日",
               "个季度", "季度", "季", "财年", "财季", "世纪", "岁", "后")
# Physical measures we do not model: skipped rather than mislabelled as a count (7500万公里, 3纳米).
_MEASURES = ("公里", "千米", "米", "厘米", "毫米", "纳米", "英寸", "千克", "公斤", "克", "千瓦时", "千瓦",
             "兆瓦", "吉瓦", "瓦", "平方米", "平米", "亩", "公顷", "摄氏度", "度", "升", "毫升")
_VAGUE = ("数", "几", "上", "好")
_TIME_OF_DAY = ("上午", "下午", "晚上", "凌晨", "早上", "中午", "傍晚", "晚间", "今晚", "明早", "早", "晚")
# Index names carry numbers that are not amounts (标普500, 沪深300, 日经225指数).
_INDEX_PREFIXES = ("标普", "日经", "富时", "斯托克", "沪深", "中证", "上证", "深证", "科创", "创业板", "北证",
                   "纳斯达克", "纳指", "罗素", "恒生", "道琼斯", "国证")

_PREFIX_QUALIFIERS = {
    "约": "about", "大约": "about", "约合": "about", "约为": "about", "约达": "about", "大约为": "about",
    "大概": "about", "近": "about", "将近": "about",
    "接近": "about", "超": "at_least", "超过": "at_least", "逾": "at_least", "逾越": "at_least",
    "超逾": "at_least", "不低于": "at_least", "不少于": "at_least", "至少": "at_least", "最少": "at_least",
    "不超过": "at_most", "不高于": "at_most", "不多于": "at_most", "至多": "at_most", "最多": "at_most",
    "不足": "at_most", "不到": "at_most",
    # 加征最高35.3%的关税, 罚款最高可达10亿美元: up to the figure
    "最高": "at_most", "最高达": "at_most", "最高可达": "at_most", "最多可达": "at_most",
}
# A one-character qualifier that is the tail of an unrelated word: 违约 (default), 最近, 附近.
_PREFIX_GUARDS = {"约": "合公条签预节制契违邀履特", "约为": "合公条签预节制契违邀履特",
                  "约达": "合公条签预节制契违邀履特", "近": "最附临亲靠邻就远", "超": "赶高"}
_SUFFIX_QUALIFIERS = {"以上": "at_least", "开外": "at_least", "以下": "at_most", "以内": "at_most",
                      "之内": "at_most", "左右": "about", "上下": "about", "多": "at_least", "之间": None}

# --------------------------------------------------------------------------------------------
# Width folding
# --------------------------------------------------------------------------------------------

_FOLD = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_FOLD.update({0x3000: ord(" "), 0x2212: ord("-"), 0xFE63: ord("-"), 0x301C: ord("~"), 0xFE6A: ord("%")})


_LONG_TEXT = 256  # characters: from here a numpy table lookup beats translating runs found by a regex


def one_to_one_translator(table: Mapping[int, int], *, lower_ascii: bool = False) -> Callable[[str], str]:
    """A fast ``str.translate`` for a table mapping BMP characters to one character each (optionally
    also lower-casing ASCII first): the same result, 5-20 times faster on Chinese text.

    ``str.translate`` looks every character up in a dict (~200 ns each on non-ASCII text). A short text
    goes through one compiled character class that finds the runs of table characters (in news mostly
    full-width punctuation such as ，and ：), and only those runs are translated; ASCII letters are
    lowered with ``bytes.lower``, which leaves every non-ASCII byte alone. A long text (an article has a
    full-width comma every ~15 characters, each run a Python call) is translated whole through a
    65,536-entry numpy table over its UTF-32 code units.
    """
    if any(k > 0xFFFF or not 0 <= v <= 0xFFFF for k, v in table.items()):
        raise ValueError("one_to_one_translator maps BMP characters to BMP characters only")
    upper = range(ord("A"), ord("Z") + 1)
    if lower_ascii and any(ord("a") <= k <= ord("z") for k in table):
        raise ValueError("with lower_ascii the table cannot map lower-case ASCII letters")
    keys = sorted(k for k in table if not (lower_ascii and k in upper))
    small = {k: table[k] for k in keys}
    runs = re.compile("[" + "".join(re.escape(chr(k)) for k in keys) + "]+") if keys else None
    luts: list[Any] = []  # built on first use: `signals --help` imports this module, not numpy

    def translate_run(m: re.Match[str]) -> str:
        return m.group().translate(small)

    def translate_long(text: str) -> str:
        import numpy as np

        if not luts:
            lut = np.arange(0x10000, dtype=np.uint32)
            lut[list(small)] = list(small.values())
            if lower_ascii:
                lut[list(upper)] += 32
            luts.append(lut)
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
        if codes.max(initial=0) < 0x10000:  # the usual case: one gather, no bounds checks (~35 % faster)
            out = luts[0].take(codes, mode="clip")
        else:
            out = np.where(codes < 0x10000, luts[0][codes & 0xFFFF], codes)  # astral characters stay
        return out.tobytes().decode("utf-32-le", "surrogatepass")

    def translate(text: str) -> str:
        if len(text) > _LONG_TEXT:
            return translate_long(text)
        if lower_ascii:
            text = text.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")
        return runs.sub(translate_run, text) if runs is not None else text

    return translate


_fold_width = one_to_one_translator(_FOLD)


def fold_width(text: str) -> str:
    """Full-width digits, letters and punctuation to half-width, keeping the length (spans stay valid)."""
    return _fold_width(text)


# --------------------------------------------------------------------------------------------
# parse_number: one number, Arabic, Chinese or mixed
# --------------------------------------------------------------------------------------------

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "貳": 2, "两": 2, "三": 3, "叁": 3,
             "參": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "陸": 6, "七": 7, "柒": 7,
             "八": 8, "捌": 8, "九": 9, "玖": 9}
_CN_SMALL = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
_CN_CHARS = "".join(_CN_DIGIT) + "".join(_CN_SMALL) + "".join(_CN_BIG)
_BIG_CHARS = frozenset(_CN_BIG)
_DIGIT_OR_TEN = frozenset(_CN_DIGIT) | {"十"}  # a real digit of a Chinese numeral (十 alone is ten)
_ONE = Decimal(1)
_ZEROS = "零〇"

_ARABIC = r"(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)(?:\.[0-9]+)?"
_ARABIC_RE = regex.compile(_ARABIC)
_SECTION_TOKEN = regex.compile(r"[0-9]+(?:\.[0-9]+)?|.")
# Plain digits with at most 25 of them: Decimal reads them exactly within the default 28-digit context,
# so the general path's 60-digit context changes nothing (most numbers in news are such).
_PLAIN_NUMBER = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,10})?")


def parse_number(text: str) -> Decimal:
    """The value of one written number: ``4.66亿`` -> 466000000, ``一百零五`` -> 105, ``1,234.5``.

    Raises ValueError when ``text`` is not exactly one number (units such as % are not accepted).
    """
    if _PLAIN_NUMBER.fullmatch(text):
        return _clean(Decimal(text))
    s = fold_width(text).strip()
    sign = 1
    if s[:1] in ("-", "+", "负"):
        sign = -1 if s[0] != "+" else 1
        s = s[1:]
    if not s:
        raise ValueError(f"not a number: {text!r}")
    if "," in s:
        m = _ARABIC_RE.match(s)
        if not m or "," not in m.group() or "," in s[m.end():]:
            raise ValueError(f"misplaced thousands separator in {text!r}")
        s = m.group().replace(",", "") + s[m.end():]
    try:
        with localcontext() as ctx:
            ctx.prec = 60
            return _clean(sign * _value(s))
    except (InvalidOperation, KeyError, IndexError) as exc:
        raise ValueError(f"not a number: {text!r}") from exc


# 万亿 written alone is a trillion (市值超万亿元, 万亿美元市值), as 百亿 and 千亿 are 1e10 and 1e11;
# 万 or 亿 alone is no number
_TRILLION_WORDS = frozenset({"万亿", "萬億", "萬亿", "万億"})


def _value(s: str) -> Decimal:
    """Hierarchical value: split at the first 亿, then the first 万; what is left is a section."""
    if s in _TRILLION_WORDS:
        return Decimal(10**12)
    for big, factor in (("亿", 10**8), ("億", 10**8), ("万", 10**4), ("萬", 10**4)):
        i = s.find(big)
        if i < 0:
            continue
        head, rest = s[:i], s[i + 1:]
        if head == "" and i == 0 and rest == "":
            raise ValueError("a multiplier alone is not a number")
        scale = Decimal(factor)
        while rest[:1] and rest[0] in _CN_BIG:  # 万亿 / 亿亿 chain onto the same head
            scale *= _CN_BIG[rest[0]]
            rest = rest[1:]
        high = (_value(head) if head else Decimal(1)) * scale
        # 2万亿五千 is split at 亿 with head 2万: its unit is 万亿, and a colloquial remainder counts
        # the unit below that (五千亿), as find_magnitudes reads 2万亿五千元
        unit = scale * _CN_BIG[head[-1]] if head and head[-1] in _CN_BIG else scale
        return high + _remainder(rest, unit)
    return _section(s)


def _remainder(rest: str, scale: Decimal) -> Decimal:
    if not rest:
        return Decimal(0)
    if rest[0] in _ZEROS:  # 一万零五: literal
        return _value(rest.lstrip(_ZEROS)) if rest.lstrip(_ZEROS) else Decimal(0)
    if len(rest) == 1 and rest in _CN_DIGIT:  # 两万五 = 25000 (colloquial: the next lower unit)
        return _CN_DIGIT[rest] * scale / 10
    if scale >= 10**8 and _THOUSANDS_OF_WAN.match(rest):
        # 3亿五千 = 3亿5千万, 2万亿五千 = 2万亿5千亿 (colloquial: the next big unit is left out; 3亿零五千
        # would be the literal 5,000)
        return _value(rest) * scale / 10**4
    return _value(rest)


# after 亿, a remainder of 千 (and 百…) in Chinese numerals without a 万 of its own counts 万s
_THOUSANDS_OF_WAN = regex.compile(r"[一二两三四五六七八九]千(?:[一二两三四五六七八九]百?)?"
                                  r"(?:[一二两三四五六七八九]十?)?$")


def _section(s: str) -> Decimal:
    """A number below 万: Arabic, positional (二〇二六), or 千百十 notation, with 点 decimals."""
    if not s:
        raise ValueError("empty number")
    if _ARABIC_RE.fullmatch(s) and "," not in s:
        return Decimal(s)
    if "点" in s:
        whole, frac = s.split("点", 1)
        if not frac or any(c not in _CN_DIGIT for c in frac):
            raise ValueError(f"bad decimal part in {s!r}")
        digits = "".join(str(_CN_DIGIT[c]) for c in frac)
        return (_section(whole) if whole else Decimal(0)) + Decimal("0." + digits)
    if len(s) > 1 and all(c in _CN_DIGIT and c != "两" for c in s):
        return Decimal("".join(str(_CN_DIGIT[c]) for c in s))
    total, pending, last_unit, zero_after_unit, pending_cn = Decimal(0), None, None, False, False
    for tok in _SECTION_TOKEN.findall(s):
        if tok in _ZEROS:
            zero_after_unit, pending = True, None
        elif tok in _CN_DIGIT or tok[0].isdigit():
            if pending is not None:
                raise ValueError(f"two numbers in a row in {s!r}")
            pending_cn = tok in _CN_DIGIT
            pending = Decimal(_CN_DIGIT[tok]) if pending_cn else Decimal(tok)
        elif tok in _CN_SMALL:
            unit = _CN_SMALL[tok]
            if last_unit is not None and unit >= last_unit:
                raise ValueError(f"units out of order in {s!r}")
            total += (pending if pending is not None else 1) * unit
            pending, last_unit, zero_after_unit = None, unit, False
        else:
            raise ValueError(f"not a numeral: {tok!r}")
    if pending is not None:
        colloquial = last_unit and last_unit > 10 and pending_cn and not zero_after_unit  # 三千五 = 3500
        total += pending * last_unit / 10 if colloquial else pending
    return total


def _clean(d: Decimal) -> Decimal:
    """Drop exponent noise: 466000000.00 -> 466000000, 12.50 -> 12.5."""
    try:
        if d == d.to_integral_value():
            return d.quantize(_ONE)
        return d.normalize()
    except InvalidOperation:
        return d


# --------------------------------------------------------------------------------------------
# to_chinese_numeral
# --------------------------------------------------------------------------------------------

_DIGIT_CHARS = "零一二三四五六七八九"


def to_chinese_numeral(n: int) -> str:
    """Standard Chinese numerals: 105 -> 一百零五, 10**12 -> 一万亿. Supports |n| < 10**16."""
    if abs(n) >= 10**16:
        raise ValueError("to_chinese_numeral supports |n| < 10**16")
    if n < 0:
        return "负" + to_chinese_numeral(-n)
    if n == 0:
        return "零"
    s = _below(n)
    return s[1:] if s.startswith("一十") else s  # 十五, not 一十五, at the start only


def _below(n: int) -> str:
    for factor, char, zero_under in ((10**8, "亿", 10**7), (10**4, "万", 1000)):
        if n >= factor:
            head, rest = divmod(n, factor)
            out = _below(head) + char
            if rest:
                out += ("零" if rest < zero_under else "") + _below(rest)
            return out
    return _four(n)


def _four(n: int) -> str:
    out, zero = [], False
    for i, unit in enumerate(("千", "百", "十", "")):
        d = n // 10 ** (3 - i) % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(_DIGIT_CHARS[d] + unit)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# The magnitude grammar
# --------------------------------------------------------------------------------------------


def _alt(words: list[str] | tuple[str, ...]) -> str:
    return "|".join(regex.escape(w) for w in sorted(set(words), key=len, reverse=True))


# A few unit characters start unrelated words right after a number: 成本 (cost), 股东, 元旦.
_UNIT_GUARDS = {
    "成": "(?![本交员立为功长果绩份分品熟效就都型色]|不变)",
    "股": "(?![东价市指份票息权本])",
    "元": "(?!旦|宇宙|器件|素)",
    "点": "(?![0-9半钟整多])",
    "bp": "(?![A-Za-z])", "bps": "(?![A-Za-z])",
}


def _unit_table() -> dict[str, tuple[str, str, Decimal]]:
    """Unit surface -> (kind, unit code, factor on the written number)."""
    table: dict[str, tuple[str, str, Decimal]] = {}
    for word, (unit, factor) in _RATE_WORDS.items():
        table[word] = ("multiple" if unit == "multiple" else "rate", unit, Decimal(factor))
    for word, unit in CURRENCY_WORDS.items():
        table[word] = ("money", unit, Decimal(1))
    for word, (unit, cents) in _CENTS.items():
        table[word] = ("money", unit, cents)
    for word, unit in _PHYSICAL.items():
        table[word] = (unit if unit in ("points", "shares") else "physical", unit, Decimal(1))
    table.update({word: ("count", "count", Decimal(1)) for word in _COUNTERS})
    table.update({word: ("time", "", Decimal(1)) for word in _TIME_WORDS})
    table.update({word: ("measure", "", Decimal(1)) for word in _MEASURES})
    table["指数"] = ("index", "", Decimal(1))
    return table


_UNIT_KIND = _unit_table()
# Chinese-only numerals are kept only with these units: 三成, 两倍, 五元; not 一股 (热潮), 一点, 三家.
_STRONG_KINDS = {"rate", "multiple", "money", "physical"}

_UNIT_RE = "|".join(
    regex.escape(w) + _UNIT_GUARDS.get(w, "") for w in sorted(_UNIT_KIND, key=len, reverse=True)
    if w not in ("bp", "bps")
) + r"|(?i:bps?)(?![A-Za-z])"
_PER_RE = r"/(?:盎司|千克|公斤|吨|桶|股|日|天|年|月|辆|台|克|平方米|平米|度|千瓦时|兆瓦时|人|份|张|手)"
_PAIRS = "一二|两三|三四|四五|五六|六七|七八|八九"
_CN_RUN = f"[{_CN_CHARS}]"
_MORE = "[多余](?![额数样])"



def _atom_pattern(chn_before: str) -> str:
    """The atom grammar; ``chn_before`` is the lookbehind a Chinese numeral starts after."""
    return (
        r"(?:(?<![0-9A-Za-z%.)半])(?P<sign>[-+]))?"
        rf"(?P<cur>{_alt(list(_CURRENCY_SYMBOLS))})?"
        rf"(?P<pre>{_alt(list(_RATE_PREFIXES))})?"
        r"(?:"
        rf"(?<!{_CN_RUN}|点)(?P<pair>{_PAIRS})(?P<pmult>[十百千]?[万亿]{{0,2}})(?=[ \t]?(?:{_UNIT_RE}))"
        rf"|(?<![0-9.]|[0-9],)(?P<arabic>{_ARABIC})"
        rf"|{chn_before}(?P<chn>{_CN_RUN}+(?:点[{''.join(_CN_DIGIT)}]+[万亿]*)?)"
        r")"
        rf"(?P<more>{_MORE})?"
        r"(?P<mult>(?:[百千](?![分克米瓦]))?[万亿]{0,2})"
        rf"(?P<more2>{_MORE})?"
        rf"(?:[ \t]?(?P<unit>{_UNIT_RE})(?P<per>{_PER_RE})?)?"
    )


# A Chinese numeral never starts inside a run of numerals or after a digit (统一, 3一…)
_ATOM = regex.compile(_atom_pattern(rf"(?<!{_CN_RUN}|点|[0-9])"))
# The next part of an amount written in parts (_compound): the same groups, but a Chinese numeral starts
# right after the part before's multiplier (3亿五千万元, 1亿两千万美元), which _ATOM refuses
_PART = regex.compile(_atom_pattern("(?<=[百千万亿])"))
# Multi-part dates and clock times, skipped whole so their parts are never read as amounts.
_DATE = regex.compile(
    r"(?<![0-9])(?:[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{4}[-/][0-9]{1,2}|[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)"
    r"(?![0-9])"
)
_DOUBLING = regex.compile(r"翻了?(?:(?P<n>[一两二三四五1-5])番|一?倍|番)")
_START = regex.compile(rf"(?P<date>{_DATE.pattern})|(?P<fan>{_DOUBLING.pattern})|(?P<atom>{_ATOM.pattern})")
# Group access by name costs ~8 µs a call in the regex module, by number ~0.1 µs: _ATOM's groups are read
# by number, and inside _START they sit at a fixed offset.
_ATOM_GROUPS = len(_ATOM.groupindex)
_START_OFFSET = _START.groupindex["sign"] - _ATOM.groupindex["sign"]
_DATE_GROUP, _FAN_GROUP, _N_GROUP = (_START.groupindex[n] for n in ("date", "fan", "n"))
_UNIT_GROUP, _ARABIC_GROUP, _CHN_GROUP, _PAIR_GROUP = (
    _ATOM.groupindex[n] for n in ("unit", "arabic", "chn", "pair"))
# Every alternative of _START begins with one of these; scanning for them first is ~5x faster than
# letting the big alternation try every position.
_FIRST_CHAR = regex.compile(rf"[0-9{_CN_CHARS}翻+\-UH$¥￥€£]")
_RANGE_SEP = regex.compile(r"[ \t]?(?:-|~|—|–|至|到)[ \t]?")
# 上下游 and 多数 / 多头 / 多家 are words, not qualifiers.
_SUFFIX_RE = regex.compile(rf"[ \t]?(?P<q>{_alt(list(_SUFFIX_QUALIFIERS))})(?<!上下(?=[游午班文]))"
                           r"(?<!多(?=[数种样少头元家个次名年国项只位]))")
# A money amount that names a club (万亿美元俱乐部, 千亿美元市值俱乐部) is its threshold: at least the
# amount; not a club's record (1亿欧元俱乐部纪录 is a fee)
_CLUB = regex.compile(r"[ \t]?(?:市值)?俱乐部(?!纪录|记录|历史|史上)")
_MONEY_UNITS = frozenset(MONEY_UNITS)
_NAME_BEFORE = regex.compile(r"(?:[A-Za-z][-_ ,.]{0,2}|[/\\:#@=_])$")
_NAME_AFTER = regex.compile(r"\s?[A-Za-z]|[-.][A-Za-z]|[/:、_]|\.(?![0-9])")
_PREFIXES_LONGEST_FIRST = sorted(_PREFIX_QUALIFIERS, key=len, reverse=True)
# a qualifier ends right before the number: only those ending with that character can match
_PREFIXES_BY_LAST_CHAR: dict[str, tuple[str, ...]] = {}
for _q in _PREFIXES_LONGEST_FIRST:
    _PREFIXES_BY_LAST_CHAR[_q[-1]] = (*_PREFIXES_BY_LAST_CHAR.get(_q[-1], ()), _q)
_YEARS = range(1900, 2101)


@dataclass(slots=True)
class _Atom:
    """One number with its multiplier and unit, before ranges and qualifiers are applied. Not frozen
    (a frozen init costs ~1.5 µs more per atom); never changed after it is built, only ``replace``d."""

    start: int
    end: int
    number: Decimal | None  # written number x multiplier (None for a pair: see low/high)
    pair: tuple[Decimal, Decimal] | None
    mult: Decimal | None  # the multiplier written after an Arabic number / after 多, if any
    kind: str | None  # unit kind (rate, money, count, time, ...) or None when bare
    unit: str | None
    factor: Decimal
    chinese_only: bool
    has_big: bool  # 万 or 亿 in the number
    has_digit: bool  # a real digit (not just 十百千万亿) in a Chinese numeral
    more: bool  # 多 / 余: "more than"
    from_prefix: bool  # the unit came from 百分之 / a currency symbol
    core_start: int
    core_end: int  # end of the written number (before multiplier and unit)


def _atom_from(m: Any, offset: int = 0) -> _Atom | None:
    """Build an atom from an ``_ATOM`` match (or a ``_START`` match with ``offset=_START_OFFSET``);
    None when the digits do not form a number."""
    sign, cur, pre, pair_digits, pmult, arabic, chn_digits, more, mult_s, more2, unit_s, _per = (
        m.groups()[offset:offset + _ATOM_GROUPS])
    mult = _ONE
    if mult_s:
        try:
            mult = _value(mult_s) if mult_s[0] in "百千" else _product(mult_s)
        except (ValueError, InvalidOperation):
            return None
    number, pair = None, None
    try:
        if not pair_digits and not mult_s:
            number = parse_number(arabic or chn_digits)  # x * 1 is x, in any context
        else:
            with localcontext() as ctx:
                ctx.prec = 60
                if pair_digits:
                    pm = _value("一" + pmult) if pmult else _ONE
                    a, b = (_CN_DIGIT[c] for c in pair_digits)
                    pair = (a * pm, b * pm)
                else:
                    number = parse_number(arabic or chn_digits) * mult
    except (ValueError, InvalidOperation):
        return None
    kind, unit, factor, from_prefix = None, None, _ONE, False
    if pre:
        kind, unit, factor, from_prefix = "rate", "pct", _RATE_PREFIXES[pre], True
    elif cur:
        kind, unit, from_prefix = "money", _CURRENCY_SYMBOLS[cur], True
    end = m.end()
    if unit_s and not pre:
        surface = "bp" if unit_s.lower().startswith("bp") else unit_s
        ukind, uunit, ufactor = _UNIT_KIND[surface]
        if ukind == "time" and (mult_s or more or more2):
            end = m.start(_UNIT_GROUP + offset)  # 1.63亿月活跃用户: 月 is the next word, not a month
        elif not cur or ukind == "money":
            kind, unit, factor = ukind, uunit, ufactor
    elif unit_s:
        end = m.start(_UNIT_GROUP + offset)
    if sign == "-" and number is not None:
        number = -number
    chn = chn_digits or pair_digits or ""
    has_big = not _BIG_CHARS.isdisjoint(chn + mult_s) if chn or mult_s else False
    if unit == "shares" and not has_big:
        kind, unit = "count", "count"  # 3600股飘绿 counts stocks; share counts come in 万/亿 (3000万股)
    core = _ARABIC_GROUP if arabic else _CHN_GROUP if chn_digits else _PAIR_GROUP
    core_start, core_end = m.span(core + offset)
    return _Atom(
        start=m.start(), end=end, number=number, pair=pair, mult=mult if mult_s else None, kind=kind,
        unit=unit, factor=factor, chinese_only=bool(chn), has_big=has_big,
        has_digit=not _DIGIT_OR_TEN.isdisjoint(chn) if chn else False, more=bool(more or more2),
        from_prefix=from_prefix, core_start=core_start, core_end=core_end,
    )


def _skip_resume(text: str, m: Any) -> int | None:
    """Where scanning resumes after a ``_START`` match that can never be a magnitude, found without
    building its atom (most numbers in news are such words): a Chinese numeral with no 万/亿 and no
    strong unit (一些, 统一, 三家), or a duration or date part (2026年, 12月, 两年), with no range after
    it. None: build the atom and judge it in full."""
    groups = m.groups()[_START_OFFSET:_START_OFFSET + _ATOM_GROUPS]
    _sign, cur, pre, pair, _pmult, arabic, chn, more, mult, more2, unit, _per = groups
    if pair or cur or pre or mult or more or more2:
        return None
    kind = _UNIT_KIND["bp" if unit.lower().startswith("bp") else unit][0] if unit else None
    if arabic is not None:
        if kind != "time":
            return None  # a bare Arabic number may be a count: judged in full
    elif kind in _STRONG_KINDS or not _BIG_CHARS.isdisjoint(chn):
        return None
    if _RANGE_SEP.match(text, m.end()):
        return None  # 三到五成: the range gives the first end the second end's unit
    if kind != "time":
        return m.start() + 1
    try:  # a duration or date part is skipped whole when its number parses, as _magnitude does
        if arabic is None:  # Arabic digits (the group's pattern) always parse
            parse_number(chn)
    except (ValueError, InvalidOperation):
        return m.start() + 1
    return max(m.end(), m.start() + 1)


def _product(chars: str) -> Decimal:
    out = Decimal(1)
    for c in chars:
        out *= _CN_BIG[c]
    return out


def _acceptable(text: str, a: _Atom) -> bool:
    """Whether an atom stands as a magnitude on its own (after any range partner gave it a unit)."""
    if a.kind in ("time", "index", "measure"):
        return False
    if a.kind == "points" and text.endswith(_TIME_OF_DAY, 0, a.start):
        return False  # 下午3点 is a clock time
    if text.endswith("第", 0, a.start):
        return False  # ordinals: 第一, 第1-3点
    if a.chinese_only:
        if text.endswith(_VAGUE, 0, a.start):
            return False  # 数十亿, 几百万: no number is written
        if a.kind in _STRONG_KINDS:
            return a.has_digit or a.has_big
        return a.has_big and a.has_digit and a.kind in (None, "count", "shares")
    if a.kind is None or a.kind == "count":
        return not _looks_like_a_name(text, a)
    return True


def _looks_like_a_name(text: str, a: _Atom) -> bool:
    """Bare numbers that are names, codes, ids or list markers: Q3, H20, GPT-4, 600519.SH, Thu, 29 Jan,
    articles/3764500, +0800, 标普500, 10-K, list markers such as ``2.`` and ``(1)``."""
    before = text[max(0, a.start - 6):a.start]
    after = text[a.core_end:a.core_end + 2]
    if _NAME_BEFORE.search(before) or (a.mult is None and _NAME_AFTER.match(after)):
        return True
    if before.endswith("(") and after.startswith(")"):
        return True  # (1) list markers
    if text.startswith("0", a.core_start) and text[a.core_start + 1:a.core_start + 2].isdigit():
        return True  # 000001, +0800: codes and offsets
    return a.mult is None and a.kind is None and before.endswith(_INDEX_PREFIXES)


def _apply_unit(a: _Atom, unit_from: _Atom) -> _Atom:
    """Distribute the right end's multiplier and unit over a left end that has none (1.5-2亿美元)."""
    number = a.number
    if a.mult is None and unit_from.mult is not None and not a.chinese_only and number is not None:
        number = number * unit_from.mult
    return replace(a, number=number, mult=a.mult or unit_from.mult, kind=unit_from.kind, unit=unit_from.unit,
                   factor=unit_from.factor)


def _scaled(a: _Atom) -> tuple[Decimal, Decimal]:
    with localcontext() as ctx:
        ctx.prec = 60
        if a.pair is not None:
            return _clean(a.pair[0] * a.factor), _clean(a.pair[1] * a.factor)
        v = _clean(a.number * a.factor)
        return v, v


# 不低于人民币50亿元: the currency may stand between the qualifier and the number
_CURRENCY_AFTER_QUALIFIER = "人民币"


def _qualifier_before(text: str, start: int, floor: int) -> tuple[str | None, int]:
    found = _qualifier_right_before(text, start, floor)
    if found[0] is None and text.endswith(_CURRENCY_AFTER_QUALIFIER, floor, start):
        kind, qs = _qualifier_right_before(text, start - len(_CURRENCY_AFTER_QUALIFIER), floor)
        if kind is not None:
            return kind, qs
    return found


def _qualifier_right_before(text: str, start: int, floor: int) -> tuple[str | None, int]:
    if start <= floor:
        return None, start
    for q in _PREFIXES_BY_LAST_CHAR.get(text[start - 1], ()):
        qs = start - len(q)
        if qs >= floor and text.startswith(q, qs):
            guard = _PREFIX_GUARDS.get(q, "")
            if guard and qs > 0 and text[qs - 1] in guard:  # 违约, 合约为: no qualifier
                continue
            return _PREFIX_QUALIFIERS[q], qs
    return None, start


def _try_range(text: str, a: _Atom) -> tuple[_Atom, _Atom] | int | None:
    """The two ends of a range starting with ``a``; an int (where to resume) for date spans (3至4月)."""
    sep = _RANGE_SEP.match(text, a.end)
    if not sep or a.pair is not None or _DATE.match(text, sep.end()):
        return None
    m = _ATOM.match(text, sep.end())
    b = _atom_from(m) if m else None
    if b is None or b.pair is not None:
        return None
    b = _compound(text, b)  # 3亿5000万元至4亿5000万元
    if b.kind in ("time", "index", "measure"):
        return b.end if a.kind is None else None
    if (b.unit == "bp" and a.unit == "count" and text.startswith("个", a.end - 1)
            and text.endswith("个百分点", 0, b.end)):
        a = replace(a, kind=None, unit=None)  # 一个到两个百分点: the first 个 is 百分点's measure word too
    if a.kind is None and b.kind is not None:
        a = _apply_unit(a, b)
    elif a.kind is not None and b.kind is None and a.from_prefix:
        b = _apply_unit(b, a)  # 百分之五到十, $5-10
    if a.unit != b.unit:
        return None
    if a.kind is None and all(x.number == x.number.to_integral_value() and 1900 <= x.number <= 2100
                              for x in (a, b)):
        return b.end  # 2025-2026: years
    if not _acceptable(text, b):
        return None
    if not _acceptable(text, a):
        return b.end  # 第1-3点, Q3-4: the range goes with its rejected first end
    return a, b


def _magnitude(text: str, original: str, a: _Atom, floor: int) -> Magnitude | int:
    """The magnitude starting with atom ``a``, or the position to resume scanning from."""
    rng = _try_range(text, a)
    if isinstance(rng, int):
        return rng
    if rng is not None:
        first, second = rng
        low, _ = _scaled(first)
        high, _ = _scaled(second)
        value, bound, unit, more, end = None, "range", second.unit, first.more or second.more, second.end
    elif not _acceptable(text, a):
        return a.end if a.kind == "time" else a.start + 1  # skip a whole date (2026年), else one char
    else:
        low, high = _scaled(a)
        unit, more, end = a.unit, a.more, a.end
        value, bound = (None, "range") if a.pair is not None else (low, "exact")
        if a.pair is None:
            low = high = None
    swapped = low is not None and high is not None and low > high
    if swapped:
        low, high = high, low
    pre, start = _qualifier_before(text, a.start, floor)
    post, end = _qualifier_after(text, end)
    club = _CLUB.match(text, end) if unit in _MONEY_UNITS and bound != "range" else None
    if club:  # 万亿美元俱乐部: a threshold the members' value reaches, not a measured amount
        end = club.end()
    kinds = [k for k in (pre, "at_least" if more else None, post, "at_least" if club else None) if k]
    approximate = "about" in kinds or a.pair is not None  # 三四成: an approximate range
    if bound != "range":
        bound = next((k for k in kinds if k != "about"), "about" if approximate else "exact")
    return Magnitude(value, low, high, unit or "count", bound, approximate, start, end, original[start:end],
                     swapped)


def _qualifier_after(text: str, end: int) -> tuple[str | None, int]:
    suffix = _SUFFIX_RE.match(text, end)
    return (_SUFFIX_QUALIFIERS[suffix.group("q")], suffix.end()) if suffix else (None, end)


def _bound_of(pre: str | None, post: str | None) -> tuple[str, bool]:
    """(bound, approximate) of a figure from its qualifiers before and after (超过…, …左右)."""
    kinds = [k for k in (pre, post) if k]
    approximate = "about" in kinds
    return next((k for k in kinds if k != "about"), "about" if approximate else "exact"), approximate


def _doubling(text: str, original: str, m: Any, floor: int) -> Magnitude:
    """翻倍 / 翻番 -> 2, 翻两番 -> 4: the new value as a multiple of the old one."""
    n = m.group(_N_GROUP)
    times = Decimal(2) ** int(parse_number(n) if n else 1)
    pre, start = _qualifier_before(text, m.start(), floor)
    post, end = _qualifier_after(text, m.end())
    bound, approximate = _bound_of(pre, post)
    return Magnitude(times, None, None, "multiple", bound, approximate, start, end, original[start:end])


def _compound(text: str, a: _Atom) -> _Atom:
    """An amount written in parts, each with its own multiplier: 3亿5000万元 is 350000000 CNY and
    1万2千 is 12000 (the parts were read as two amounts: 3亿, a count, and 5000万元), in as many parts
    as are written (2万亿5000亿5000万元). Each next part follows at once with no sign, is a whole
    number with a multiplier smaller than the part before's, and is less than that multiplier; a
    first part with a decimal point (2.5亿) or a unit is whole already (a currency symbol aside:
    ¥3亿5000万)."""
    if (a.mult is None or a.number is None or a.pair is not None or not _whole(text, a)
            or (a.kind is not None and not (a.from_prefix and a.kind == "money"))):
        return a
    mult = a.mult
    while True:
        m = _PART.match(text, a.end)
        b = _atom_from(m) if m and m.start() == a.end and text[a.end] not in "+-" else None
        b_mult = _part_multiplier(text, b) if b is not None else None
        if b is not None and b_mult is not None and _wan_left_out(text, b, b_mult, mult):
            # 3亿五千元 is 3亿5千万 (the 万 is left out), as parse_number reads 3亿五千
            b = replace(b, number=b.number * mult / 10**4)  # type: ignore[operator]
            b_mult = b_mult * mult / 10**4
        if (b is None or b_mult is None or b.number is None or b.pair is not None or b.from_prefix
                or not b_mult < mult or not 0 < b.number < mult or not _whole(text, b)
                or (a.kind is not None and b.kind is not None and b.unit != a.unit)):
            return a
        number = a.number + b.number if a.number >= 0 else a.number - b.number  # -3亿5000万: -350000000
        if a.kind is None:
            a = replace(a, kind=b.kind, unit=b.unit, factor=b.factor)
        a = replace(a, end=b.end, number=number, core_end=b.core_end, more=a.more or b.more)
        if a.kind is not None and not a.from_prefix:
            return a
        mult = b_mult


def _wan_left_out(text: str, b: _Atom, b_mult: Decimal, mult: Decimal) -> bool:
    """A Chinese part in 千s right after 亿 (or 万亿) counts the next big unit down, left unwritten."""
    return (mult >= 10**8 and b.chinese_only and b_mult < 10**4 and b.number is not None
            and 1000 <= b.number < 10**4 and text[b.core_start] not in _ZEROS)


def _part_multiplier(text: str, b: _Atom) -> Decimal | None:
    """The multiplier of a next part: the one written after its digits (5000万: 1e4, 5千万: 1e7), or
    for a Chinese numeral the units it ends with (五千万: 1e7, 五千亿: 1e11, 一千零五万: 1e4). None when
    it has none of at least 百 (3亿五, 1万五十, 5万一台: no part), no digit (3亿千万) or ends with a
    digit (两千五)."""
    if b.mult is not None or not b.chinese_only or not b.has_digit:
        return b.mult
    core = text[b.core_start:b.core_end]
    units = core[len(core.rstrip("".join(_CN_SMALL) + "".join(_CN_BIG))):]
    if not units:
        return None
    try:
        factor = _value("一" + units)
    except (ValueError, InvalidOperation):
        return None
    return factor if factor >= 100 else None


def _whole(text: str, a: _Atom) -> bool:
    """Whether an atom's written number has no decimal point (3亿, not 2.5亿 or 三点五亿)."""
    core = text[a.core_start:a.core_end]
    return "." not in core and "点" not in core


def find_magnitudes(text: str) -> list[Magnitude]:
    """Every magnitude in ``text``, in order and non-overlapping (see docs/numbers.md for the grammar).

    Dates, clock times, durations (3个月), quarters (三季度, Q3), ordinals (第一), index names
    (标普500) and codes (600519.SH) are skipped. A number without a unit is a ``count``; a Chinese
    numeral without a unit is not returned at all (一度, 三星 and 百度 are words).
    """
    return _find_magnitudes(text, shortcuts=True)


def _find_magnitudes(text: str, *, shortcuts: bool) -> list[Magnitude]:
    """``find_magnitudes``; without ``shortcuts`` every Chinese numeral is built and judged in full
    (the differential tests check that both give the same magnitudes)."""
    norm = fold_width(text)
    out: list[Magnitude] = []
    pos = floor = 0
    while (hit := _FIRST_CHAR.search(norm, pos)) is not None:
        m = _START.match(norm, hit.start())
        if m is None:
            pos = hit.start() + 1
            continue
        if m.start(_DATE_GROUP) >= 0:
            pos = m.end()
            continue
        if m.start(_FAN_GROUP) >= 0:
            found: Magnitude | int = _doubling(norm, text, m, floor)
        elif shortcuts and (resume := _skip_resume(norm, m)) is not None:
            found = resume
        else:
            atom = _atom_from(m, _START_OFFSET)
            found = _magnitude(norm, text, _compound(norm, atom), floor) if atom else m.start() + 1
        if isinstance(found, int):
            pos = max(found, m.start() + 1)
            continue
        out.append(found)
        pos = floor = found.end
    out = _halves(norm, text, out) if "半" in norm else out
    return _bounded_ranges(norm, text, out) if len(out) > 1 else out


# 不低于50亿元且不超过100亿元 (the A-share buyback formula), 不少于1000万股、不超过2000万股: a lower bound
# followed by an upper one of the same unit is one range; (含) says the bound is inclusive.
_BOUNDS_JOINER = regex.compile(r"\s*(?:\(含\))?\s*(?:且|并且|、|,|，|;|或|但|而)?\s*")


def _bounded_ranges(norm: str, text: str, found: list[Magnitude]) -> list[Magnitude]:
    out: list[Magnitude] = []
    for m in found:
        last = out[-1] if out else None
        if (last is not None and last.bound == "at_least" and m.bound == "at_most" and last.unit == m.unit
                and last.value is not None and m.value is not None and last.value <= m.value
                and _BOUNDS_JOINER.fullmatch(norm, last.end, m.start)):
            out[-1] = Magnitude(None, last.value, m.value, m.unit, "range", last.approximate or m.approximate,
                                last.start, m.end, text[last.start:m.end])
        else:
            out.append(m)
    return out


# 半 adds half a unit: 半个百分点 (50 bp), 一个半百分点 (150 bp), 一倍半 (1.5 times), 三成半 (35%), at
# either end of a range too: 三到四成半 (30..45%), 半个到一个百分点 (50..100 bp).
_HALF_END = rf"(?:[0-9]+|[{_CN_CHARS}]+)个半|半个"
# a range's first end before 百分点: 半 / 半个, 一个半, 一个 / 1个, or a bare number (一到一个半百分点)
_HALF_LOW = rf"{_HALF_END}|半|(?:[0-9]+(?:\.[0-9]+)?|[{_CN_CHARS}]+)个?"
_HALF_POINTS = regex.compile(
    rf"(?<![0-9.{_CN_CHARS}])(?:(?P<lo>{_HALF_LOW}){_RANGE_SEP.pattern})?"
    rf"(?P<hi>{_HALF_END}|(?:[0-9]+(?:\.[0-9]+)?|[{_CN_CHARS}]+)个)百分点")
_HALF_STEP = {"倍": Decimal("0.5"), "成": Decimal(5)}
# 半 that begins a word after 成/倍: 超三成半年报预喜 (over 30% of interim reports), 三成半导体企业, 八成半数
_HALF_WORD = regex.compile(r"半(?:年|导体|数|月|天|日|小时|岛|价|场|径|夜|途|壁|成品|决赛|身|山|截)")


def _bound_with(bound: str, approximate: bool, more: str | None) -> tuple[str, bool]:
    """A bound and approximation once a qualifier after the half (以上, 左右) is read too."""
    if more is None:
        return bound, approximate
    if bound in ("exact", "about"):
        return more, approximate or more == "about"
    return bound, approximate or more == "about"


def _points(end: str) -> Decimal:
    """One end of a 百分点 figure in bp: 半个 / 半 -> 50, 一个半 -> 150, 两个 / 2 -> 200."""
    whole = end.rstrip("半个")
    return (parse_number(whole) * 100 if whole else Decimal(0)) + (50 if end.endswith("半") or
                                                                       end.startswith("半") else 0)


def _ranged(a: Magnitude, b: Magnitude, text: str) -> Magnitude:
    """Two point figures of one unit joined by a range separator (三成半到四成) as one range."""
    low, high = sorted((a.value, b.value))
    return Magnitude(None, low, high, a.unit, "range", a.approximate or b.approximate, a.start, b.end,
                     text[a.start:b.end], a.value > b.value)


def _halves(norm: str, text: str, found: list[Magnitude]) -> list[Magnitude]:
    out, halved = [], set()
    for m in found:  # 一倍半, 三成半: the half follows a point amount's or a range's unit
        half = norm[m.end:m.end + 1] == "半" and not _HALF_WORD.match(norm, m.end)
        step = _HALF_STEP.get(norm[m.end - 1:m.end]) if half else None
        if step is not None and (m.value is not None or m.low is not None):
            post, end = _qualifier_after(norm, m.end + 1)  # 五成半以上, 三成半左右
            if m.value is not None:
                bound, approximate = _bound_with(m.bound, m.approximate, post)
                m = replace(m, value=m.value + step, bound=bound, approximate=approximate, end=end,
                            text=text[m.start:end])
            else:  # 三到四成半: the half is the second end's (the low one when written high to low)
                low, high = (m.low + step, m.high) if m.swapped else (m.low, m.high + step)
                m = replace(m, low=min(low, high), high=max(low, high), swapped=m.swapped and low < high,
                            approximate=m.approximate or post == "about", end=end, text=text[m.start:end])
            halved.add(m.start)
        out.append(m)
    for h in _HALF_POINTS.finditer(norm):  # 半个百分点 reads as no number at all without this
        lo, hi = h.group("lo"), h.group("hi")
        if "半" not in hi and "半" not in (lo or ""):
            continue  # 两个百分点, 1到2个百分点, 一个到两个百分点: the grammar reads them
        # 1个 of 1个半百分点, with its qualifier (超过1个, 约1个): a count read from the words inside
        inside = [m for m in out if h.start() < m.end <= h.end() and (
            h.start() <= m.start or _qualifier_before(norm, h.start(), m.start)[1] == m.start)]
        if any(m.start < h.end() and h.start() < m.end for m in out if m not in inside):
            continue
        try:
            ends = [_points(e) for e in (lo, hi) if e is not None]
        except (ValueError, InvalidOperation):
            continue
        out = [m for m in out if m not in inside]
        floor = max((m.end for m in out if m.end <= h.start()), default=0)
        pre, start = _qualifier_before(norm, h.start(), floor)  # 超过半个百分点, 近半个百分点
        post, end = _qualifier_after(norm, h.end())  # 半个百分点以上, 一个半百分点左右
        bound, approximate = _bound_of(pre, post)
        if len(ends) == 2:  # 半个到一个百分点: a range, whatever bound its qualifiers give
            out.append(Magnitude(None, min(ends), max(ends), "bp", "range", approximate, start, end,
                                 text[start:end], ends[0] > ends[1]))
        else:
            out.append(Magnitude(ends[0], None, None, "bp", bound, approximate, start, end, text[start:end]))
        halved.add(start)
    out.sort(key=lambda m: m.start)
    return _join_halves(norm, text, out, halved)


def _join_halves(norm: str, text: str, found: list[Magnitude], halved: set[int]) -> list[Magnitude]:
    """三成半到四成, 一倍半至两倍, 半个百分点到一个百分点: point figures the grammar read apart (it
    does not know the half) that a range separator joins, when one of them has a half."""
    out: list[Magnitude] = []
    for m in found:
        prev = out[-1] if out else None
        if (prev is not None and (prev.start in halved or m.start in halved) and prev.unit == m.unit
                and prev.value is not None and m.value is not None and prev.value >= 0 and m.value >= 0
                and _RANGE_SEP.fullmatch(norm, prev.end, m.start)):
            out[-1] = _ranged(prev, m, text)
            continue
        out.append(m)
    return out


def parse_magnitude(text: str) -> Magnitude | None:
    """The first magnitude in a short text (a rule's named group, a table cell), or None."""
    found = find_magnitudes(text)
    return found[0] if found else None


# --------------------------------------------------------------------------------------------
# Target prices
# --------------------------------------------------------------------------------------------

_PRICE = (rf"(?:{_alt(list(_CURRENCY_SYMBOLS))})?{_ARABIC}[万亿]?"
          rf"(?:{_alt([w for w in CURRENCY_WORDS])}|(?![0-9倍%成个万亿.]))")
_UP = ("上调", "调高", "调升", "上修", "提高", "提升", "上涨", "升")
_DOWN = ("下调", "调低", "调降", "下修", "降低", "下降", "削减", "下跌", "降")
_VERB = _alt(list(_UP + _DOWN))
_TARGET = r"目标(?:股)?价(?:格)?"
_PRICE_PATTERNS = (
    regex.compile(rf"(?:从|由)(?P<old>{_PRICE})(?P<verb>[^0-9，,。；;！!？?\n]{{0,6}}?)(?:至|到|为)(?P<new>{_PRICE})"),
    regex.compile(rf"(?P<verb>{_VERB})了?(?:其|该股的?)?(?:{_TARGET})?(?:至|到|为)(?P<new>{_PRICE})"),
    regex.compile(rf"{_TARGET}(?:为|定为|设为|设定为|是|:)?(?P<new>{_PRICE})"),
)


def find_price_change(text: str) -> PriceChange | None:
    """The first price change in ``text``: 从655美元下调至600美元, 目标价上调至600美元, 目标价2000元.

    A price needs a currency on one side unless the match names a 目标价; 从32倍下调至28倍 is not one.
    """
    norm = fold_width(text)
    best: PriceChange | None = None
    for pattern in _PRICE_PATTERNS:
        for m in pattern.finditer(norm):
            change = _price_change(norm, text, m)
            if change is not None:
                if best is None or change.start < best.start:
                    best = change
                break
    return best


def _split_price(s: str | None) -> tuple[Decimal | None, str | None]:
    if not s:
        return None, None
    for sym, code in sorted(_CURRENCY_SYMBOLS.items(), key=lambda kv: -len(kv[0])):
        if s.startswith(sym):
            return parse_number(s[len(sym):]), code
    for word in sorted(CURRENCY_WORDS, key=len, reverse=True):
        if s.endswith(word):
            return parse_number(s[: -len(word)]), CURRENCY_WORDS[word]
    return parse_number(s), None


def _price_change(norm: str, original: str, m: Any) -> PriceChange | None:
    groups = m.groupdict()
    old, old_cur = _split_price(groups.get("old"))
    new, new_cur = _split_price(groups.get("new"))
    currency = new_cur or old_cur
    near_target = regex.search(_TARGET, norm[max(0, m.start() - 12):m.end()]) is not None
    if currency is None and not near_target:
        return None
    if old_cur and new_cur and old_cur != new_cur:
        return None
    change_pct = None
    if old is not None and new is not None and old != 0:
        change_pct = ((new - old) / old * 100).quantize(Decimal("0.01"))
    verb = groups.get("verb") or ""
    if old is not None and new is not None and new != old:
        direction = 1 if new > old else -1
    elif any(w in verb for w in _UP):
        direction = 1
    elif any(w in verb for w in _DOWN):
        direction = -1
    else:
        direction = 0
    return PriceChange(old, new, currency, change_pct, direction, m.start(), m.end(),
                       original[m.start():m.end()])
