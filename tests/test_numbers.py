"""Chinese financial magnitudes: exact expected values for the known traps, plus hypothesis properties."""

from __future__ import annotations

import re
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signals.numbers import (
    CURRENCY_WORDS,
    PERCENT_UNITS,
    UNITS,
    Magnitude,
    _find_magnitudes,
    find_magnitudes,
    find_price_change,
    fold_width,
    one_to_one_translator,
    parse_magnitude,
    parse_number,
    to_chinese_numeral,
)

FIXTURES = Path(__file__).parent / "fixtures" / "numbers"


def one(text: str) -> Magnitude:
    found = find_magnitudes(text)
    assert len(found) == 1, f"{text!r} -> {found}"
    return found[0]


def point(text: str) -> tuple[D | None, str, str]:
    m = one(text)
    return m.value, m.unit, m.bound


def span(text: str) -> tuple[D | None, D | None, str, str]:
    m = one(text)
    return m.low, m.high, m.unit, m.bound


# --------------------------------------------------------------------------------------------
# parse_number
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("1,234.5", D("1234.5")), ("１，２３４．５", D("1234.5")), ("42", D(42)), ("0.25", D("0.25")),
    ("1.2万亿", D(1_200_000_000_000)), ("3千万", D(30_000_000)), ("4.66亿", D(466_000_000)),
    ("十五", D(15)), ("二十五", D(25)), ("一百零五", D(105)), ("两千", D(2000)), ("一万零五", D(10005)),
    ("三千五", D(3500)), ("两万五", D(25000)), ("一亿三千万", D(130_000_000)), ("一万亿", D(10**12)),
    ("十二万亿五千亿", D(12_500_000_000_000)), ("二〇二六", D(2026)), ("三点五", D("3.5")),
    ("一点二万亿", D(1_200_000_000_000)), ("壹佰贰拾叁", D(123)), ("1万2千", D(12000)), ("-3.5", D("-3.5")),
    ("负三", D(-3)), ("百万", D(1_000_000)), ("万亿", D(10**12)),
    ("3亿五千", D(350_000_000)), ("三亿五千五百", D(355_000_000)), ("十亿零五千", D(1_000_005_000)),
    ("2万亿五千", D(2_500_000_000_000)), ("2万亿五", D(2_500_000_000_000)),  # the unit below 万亿: 亿
])
def test_parse_number(text: str, expected: D) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "百分之十二", "12%", "1,23", "十十", "亿", "万", "3美元",
                                  "1.2.3"])
def test_parse_number_rejects_non_numbers(text: str) -> None:
    with pytest.raises(ValueError):
        parse_number(text)


@pytest.mark.parametrize(("text", "expected"), [
    # a trillion written alone, as 百亿 / 千亿 are: it was no magnitude at all
    ("苹果市值超万亿元", [(D(10**12), "CNY", "at_least")]), ("近万亿美元", [(D(10**12), "USD", "about")]),
    ("万亿元", [(D(10**12), "CNY", "exact")]), ("市值突破5万亿美元", [(D(5 * 10**12), "USD", "exact")]),
    # no number is written: 数万亿, 上万亿; no unit: 万亿级
    ("数万亿元", []), ("上万亿元", []), ("万亿级市场", []), ("亿元", []),
    # a club is a threshold, not a measured amount: its members' value is at least the amount
    ("迈入万亿美元俱乐部", [(D(10**12), "USD", "at_least")]),
    ("跻身万亿美元市值俱乐部", [(D(10**12), "USD", "at_least")]),
    ("市值超万亿美元俱乐部成员", [(D(10**12), "USD", "at_least")]),
    ("5000亿美元俱乐部", [(D(5 * 10**11), "USD", "at_least")]),
    ("千亿元俱乐部", [(D(10**11), "CNY", "at_least")]),
    # 突破 is the measured value reaching the amount, as 市值突破5万亿美元 above; a club's record is a
    # fee; a count of clubs; no unit
    ("市值突破万亿美元", [(D(10**12), "USD", "exact")]),
    ("1亿欧元俱乐部纪录", [(D(10**8), "EUR", "exact")]), ("20家俱乐部", [(D(20), "count", "exact")]),
    ("万亿俱乐部", []),
])
def test_a_trillion_written_alone_is_an_amount(text: str, expected: list) -> None:
    assert [(m.value, m.unit, m.bound) for m in find_magnitudes(text)] == expected


def test_a_club_spans_its_name() -> None:
    m = one("苹果成为首家迈入万亿美元俱乐部的公司")
    assert (m.text, m.value, m.low, m.high, m.approximate) == ("万亿美元俱乐部", D(10**12), None, None, False)


@pytest.mark.parametrize(("text", "expected"), [
    # an amount written in parts, each with its multiplier: 3亿5000万元 gave 3亿 (a count) and 5000万元
    ("3亿5000万元", [(D(350_000_000), None, None, "CNY", "exact")]),
    ("1万2千元", [(D(12_000), None, None, "CNY", "exact")]),
    ("12亿3456万元", [(D(1_234_560_000), None, None, "CNY", "exact")]),
    ("1万亿2000亿元", [(D(1_200_000_000_000), None, None, "CNY", "exact")]),
    ("-3亿5000万元", [(D(-350_000_000), None, None, "CNY", "exact")]),
    ("约3亿5000万美元以上", [(D(350_000_000), None, None, "USD", "at_least")]),
    ("3亿5000万至4亿元", [(None, D(350_000_000), D(400_000_000), "CNY", "range")]),
    # not parts of one amount: a separator, a part without a multiplier, a larger second part
    ("营收3亿，5000万元", [(D(300_000_000), None, None, "count", "exact"),
                          (D(50_000_000), None, None, "CNY", "exact")]),
    ("1亿2000", [(D(100_000_000), None, None, "count", "exact"), (D(2000), None, None, "count", "exact")]),
    ("3万5亿元", [(D(30_000), None, None, "count", "exact"), (D(500_000_000), None, None, "CNY", "exact")]),
    # a part in 千s right after 亿 counts 万s, left unwritten (it read 300,005,000); with 零 it is literal
    ("3亿五千元", [(D(350_000_000), None, None, "CNY", "exact")]),
    ("3亿五千五百元", [(D(355_000_000), None, None, "CNY", "exact")]),
    ("2万亿五千元", [(D(2_500_000_000_000), None, None, "CNY", "exact")]),
    ("3亿零五千元", [(D(300_005_000), None, None, "CNY", "exact")]),
    ("1万五千元", [(D(15_000), None, None, "CNY", "exact")]),
])
def test_an_amount_written_in_parts_is_one_amount(text: str, expected: list) -> None:
    assert [(m.value, m.low, m.high, m.unit, m.bound) for m in find_magnitudes(text)] == expected


@pytest.mark.parametrize(("text", "expected"), [
    # a range's second end in parts: 4亿 was its end and 5000万元 a second amount, so no range
    ("预计净利润3亿5000万元至4亿5000万元", [(None, D(350_000_000), D(450_000_000), "CNY", "range")]),
    ("3亿至3亿5000万元", [(None, D(300_000_000), D(350_000_000), "CNY", "range")]),
    # more than two parts, and a currency symbol before the first part
    ("2万亿5000亿5000万元", [(D(2_500_050_000_000), None, None, "CNY", "exact")]),
    ("US$3亿5000万", [(D(350_000_000), None, None, "USD", "exact")]),
    # not parts: a decimal first part, a second part with the same multiplier, a signed second part
    ("2.5亿5000万元", [(D(250_000_000), None, None, "count", "exact"),
                      (D(50_000_000), None, None, "CNY", "exact")]),
    ("3亿0.5亿元", [(D(300_000_000), None, None, "count", "exact"),
                   (D(50_000_000), None, None, "CNY", "exact")]),
    ("3亿+5000万元", [(D(300_000_000), None, None, "count", "exact"),
                     (D(50_000_000), None, None, "CNY", "exact")]),
])
def test_an_amount_in_parts_at_a_range_end_in_more_parts_or_not_parts(text: str, expected: list) -> None:
    assert [(m.value, m.low, m.high, m.unit, m.bound) for m in find_magnitudes(text)] == expected


@pytest.mark.parametrize(("text", "expected"), [
    # a next part in Chinese numerals: 3亿五千万元 gave 3亿, a count, and dropped 五千万元
    ("3亿五千万元", [(D(350_000_000), None, None, "CNY", "exact")]),
    ("1亿两千万美元", [(D(120_000_000), None, None, "USD", "exact")]),
    ("2万亿五千亿元", [(D(2_500_000_000_000), None, None, "CNY", "exact")]),
    ("2万亿五千亿五千万元", [(D(2_500_050_000_000), None, None, "CNY", "exact")]),
    ("1万亿五千亿5000万元", [(D(1_500_050_000_000), None, None, "CNY", "exact")]),
    ("1亿零五百万元", [(D(105_000_000), None, None, "CNY", "exact")]),
    ("1万两千元", [(D(12_000), None, None, "CNY", "exact")]),
    ("3亿五千万股", [(D(350_000_000), None, None, "shares", "exact")]),
    ("US$3亿五千万", [(D(350_000_000), None, None, "USD", "exact")]),
    ("-3亿五千万元", [(D(-350_000_000), None, None, "CNY", "exact")]),
    ("约3亿五千万美元以上", [(D(350_000_000), None, None, "USD", "at_least")]),
    ("3亿五千万元至4亿元", [(None, D(350_000_000), D(400_000_000), "CNY", "range")]),
    ("3亿元至4亿五千万元", [(None, D(300_000_000), D(450_000_000), "CNY", "range")]),
    ("3亿五千万至4亿五千万元", [(None, D(350_000_000), D(450_000_000), "CNY", "range")]),
    # not parts of one amount: punctuation or a unit between, a list
    ("3亿，五千万元", [(D(300_000_000), None, None, "count", "exact"),
                     (D(50_000_000), None, None, "CNY", "exact")]),
    ("3亿股五千万元", [(D(300_000_000), None, None, "shares", "exact"),
                     (D(50_000_000), None, None, "CNY", "exact")]),
    ("3亿、5千万", [(D(300_000_000), None, None, "count", "exact"),
                   (D(50_000_000), None, None, "count", "exact")]),
    ("3亿、五千万", [(D(300_000_000), None, None, "count", "exact"),
                    (D(50_000_000), None, None, "count", "exact")]),
    ("3亿+五千万元", [(D(300_000_000), None, None, "count", "exact"),
                     (D(50_000_000), None, None, "CNY", "exact")]),
    # a Chinese numeral after a multiplier with no multiplier of its own, no digit, one too large or a
    # decimal first part is no next part (and, as before, not read at all: see docs/numbers.md)
    ("5万一台", [(D(50_000), None, None, "count", "exact")]),
    ("3亿五", [(D(300_000_000), None, None, "count", "exact")]),
    ("1万五十元", [(D(10_000), None, None, "count", "exact")]),
    ("3亿千万元", [(D(300_000_000), None, None, "count", "exact")]),
    ("3亿五亿元", [(D(300_000_000), None, None, "count", "exact")]),
    ("2.5亿五千万元", [(D(250_000_000), None, None, "count", "exact")]),
])
def test_a_next_part_in_chinese_numerals(text: str, expected: list) -> None:
    assert [(m.value, m.low, m.high, m.unit, m.bound) for m in find_magnitudes(text)] == expected


def test_parse_number_keeps_decimal_precision() -> None:
    assert str(parse_number("4.66亿")) == "466000000"
    assert parse_number("0.1") + parse_number("0.2") == D("0.3")


@pytest.mark.parametrize(("n", "text"), [
    (0, "零"), (10, "十"), (15, "十五"), (105, "一百零五"), (110, "一百一十"), (1010, "一千零一十"),
    (10005, "一万零五"), (150000, "十五万"), (100050000, "一亿零五万"), (10**12, "一万亿"), (-3, "负三"),
])
def test_to_chinese_numeral(n: int, text: str) -> None:
    assert to_chinese_numeral(n) == text


def test_to_chinese_numeral_range() -> None:
    with pytest.raises(ValueError):
        to_chinese_numeral(10**16)


# --------------------------------------------------------------------------------------------
# Rates, money, quantities
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("25个基点", (D(25), "bp", "exact")),
    ("50基点", (D(50), "bp", "exact")),
    ("25bp", (D(25), "bp", "exact")),
    ("0.5个百分点", (D(50), "bp", "exact")),
    ("降准0.25个百分点", (D(25), "bp", "exact")),
    ("两个百分点", (D(200), "bp", "exact")),
    ("1.2万亿元", (D(1_200_000_000_000), "CNY", "exact")),
    ("93.8万亿韩元", (D(93_800_000_000_000), "KRW", "exact")),
    ("600亿美元", (D(60_000_000_000), "USD", "exact")),
    ("4.66亿元", (D(466_000_000), "CNY", "exact")),
    ("人民币4.2亿元人民币", (D(420_000_000), "CNY", "exact")),
    ("180港元", (D(180), "HKD", "exact")),
    ("100亿日元", (D(10_000_000_000), "JPY", "exact")),
    ("5亿欧元", (D(500_000_000), "EUR", "exact")),
    ("3亿英镑", (D(300_000_000), "GBP", "exact")),
    ("50美分", (D("0.5"), "USD", "exact")),
    ("HK$180", (D(180), "HKD", "exact")),
    ("3000万股", (D(30_000_000), "shares", "exact")),
    ("5万吨", (D(50_000), "tonnes", "exact")),
    ("100万桶/日", (D(1_000_000), "barrels", "exact")),
    ("5580美元/盎司", (D(5580), "USD", "exact")),
    ("1000万盎司", (D(10_000_000), "ounces", "exact")),
    ("报5327点", (D(5327), "points", "exact")),
    ("1330万辆", (D(13_300_000), "count", "exact")),
    ("1.63亿月活跃用户", (D(163_000_000), "count", "exact")),
    ("3600股飘绿", (D(3600), "count", "exact")),
    ("12%", (D(12), "pct", "exact")),
    ("12％", (D(12), "pct", "exact")),
    ("百分之十二", (D(12), "pct", "exact")),
    ("百分之三点五", (D("3.5"), "pct", "exact")),
    ("千分之五", (D("0.5"), "pct", "exact")),
    ("下滑94%", (D(94), "pct", "exact")),
    ("-3.5%", (D("-3.5"), "pct", "exact")),
    ("同比-3.5%", (D("-3.5"), "pct", "exact")),
    ("三成", (D(30), "pct", "exact")),
    ("两成", (D(20), "pct", "exact")),
    ("5成", (D(50), "pct", "exact")),
    ("翻倍", (D(2), "multiple", "exact")),
    ("翻番", (D(2), "multiple", "exact")),
    ("翻了一番", (D(2), "multiple", "exact")),
    ("翻两番", (D(4), "multiple", "exact")),
    ("3倍", (D(3), "multiple", "exact")),
    ("两倍", (D(2), "multiple", "exact")),
    # 半: half a unit more (these read as nothing, or as the whole unit only, before)
    ("降息半个百分点", (D(50), "bp", "exact")),
    ("降息一个半百分点", (D(150), "bp", "exact")),
    ("下调1个半百分点", (D(150), "bp", "exact")),
    ("增长一倍半", (D("1.5"), "multiple", "exact")),
    ("三成半", (D(35), "pct", "exact")),
])
def test_point_magnitudes(text: str, expected: tuple[D, str, str]) -> None:
    assert point(text) == expected


@pytest.mark.parametrize("text", ["过半", "一半", "半年", "半个月", "半导体", "半数以上"])
def test_half_as_a_word_is_no_magnitude(text: str) -> None:
    assert find_magnitudes(text) == []


def test_half_a_point_keeps_its_span() -> None:
    half, rate = find_magnitudes("美联储降息半个百分点至3.5%。")
    assert (half.value, half.unit, half.start, half.end, half.text) == (D(50), "bp", 5, 10, "半个百分点")
    assert (rate.value, rate.unit, rate.text) == (D("3.5"), "pct", "3.5%")


@pytest.mark.parametrize(("text", "expected"), [
    # a 半 that begins a word after 成/倍 is that word: 30% of interim reports, not 35%
    ("超三成半年报预喜", (D(30), "pct", "at_least", "超三成")),
    ("约三成半导体企业亏损", (D(30), "pct", "about", "约三成")),
    ("八成半数", (D(80), "pct", "exact", "八成")),
    # the qualifiers around a half are read as around a whole (they were dropped: exact)
    ("超过半个百分点", (D(50), "bp", "at_least", "超过半个百分点")),
    ("近半个百分点", (D(50), "bp", "about", "近半个百分点")),
    ("降息半个百分点以上", (D(50), "bp", "at_least", "半个百分点以上")),
    ("一个半百分点左右", (D(150), "bp", "about", "一个半百分点左右")),
    ("三成半左右", (D(35), "pct", "about", "三成半左右")),
    ("五成半以上", (D(55), "pct", "at_least", "五成半以上")),
    # a qualified count inside the words was kept instead of the half: 超过1个 -> 1 count
    ("超过1个半百分点", (D(150), "bp", "at_least", "超过1个半百分点")),
    ("近2个半百分点", (D(250), "bp", "about", "近2个半百分点")),
])
def test_half_with_words_and_qualifiers(text: str, expected: tuple[D, str, str, str]) -> None:
    found = find_magnitudes(text)
    assert [(m.value, m.unit, m.bound, m.text) for m in found] == [expected]
    assert found == _find_magnitudes(text, shortcuts=False)


def test_magnitude_record() -> None:
    m = one("营收达4.66亿元。")
    assert m == Magnitude(D(466_000_000), None, None, "CNY", "exact", False, 3, 9, "4.66亿元")


# --------------------------------------------------------------------------------------------
# Ranges
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("69.23%-93.40%", (D("69.23"), D("93.40"), "pct", "range")),
    ("69.23%至93.40%", (D("69.23"), D("93.40"), "pct", "range")),
    ("净利润同比增长69.23%-93.40%", (D("69.23"), D("93.40"), "pct", "range")),
    ("10亿至12亿元", (D(10**9), D(12 * 10**8), "CNY", "range")),
    ("1.5-2亿美元", (D(15 * 10**7), D(2 * 10**8), "USD", "range")),
    ("3万至5万欧元", (D(30_000), D(50_000), "EUR", "range")),
    ("2到3倍", (D(2), D(3), "multiple", "range")),
    ("四到六成", (D(40), D(60), "pct", "range")),
    ("百分之五到百分之十", (D(5), D(10), "pct", "range")),
    ("百分之五到十", (D(5), D(10), "pct", "range")),
    ("1150亿–1350亿美元", (D(115 * 10**9), D(135 * 10**9), "USD", "range")),
    ("81万至87万吨", (D(810_000), D(870_000), "tonnes", "range")),
    ("3.50%-3.75%", (D("3.5"), D("3.75"), "pct", "range")),
    ("-5%至-3%", (D(-5), D(-3), "pct", "range")),
    ("$5-10", (D(5), D(10), "USD", "range")),
    ("400-500台", (D(400), D(500), "count", "range")),
])
def test_ranges(text: str, expected: tuple[D, D, str, str]) -> None:
    assert span(text) == expected
    assert one(text).value is None


@pytest.mark.parametrize(("text", "expected"), [
    # 半 at either end of a range is half a unit more at that end (these lost the half before)
    ("三到四成半", (D(30), D(45), "pct", "range", "三到四成半")),
    ("三成半到四成", (D(35), D(40), "pct", "range", "三成半到四成")),
    ("三成半至四成半", (D(35), D(45), "pct", "range", "三成半至四成半")),
    ("两到两倍半", (D(2), D("2.5"), "multiple", "range", "两到两倍半")),
    ("一倍半到两倍", (D("1.5"), D(2), "multiple", "range", "一倍半到两倍")),
    ("半个到一个百分点", (D(50), D(100), "bp", "range", "半个到一个百分点")),
    ("半个至1个百分点", (D(50), D(100), "bp", "range", "半个至1个百分点")),
    ("半到一个百分点", (D(50), D(100), "bp", "range", "半到一个百分点")),
    ("一到一个半百分点", (D(100), D(150), "bp", "range", "一到一个半百分点")),
    ("一个到一个半百分点", (D(100), D(150), "bp", "range", "一个到一个半百分点")),
    ("1到1个半百分点", (D(100), D(150), "bp", "range", "1到1个半百分点")),
    ("0.5到一个半百分点", (D(50), D(150), "bp", "range", "0.5到一个半百分点")),
    ("半个百分点到一个百分点", (D(50), D(100), "bp", "range", "半个百分点到一个百分点")),
    ("约三到四成半", (D(30), D(45), "pct", "range", "约三到四成半")),
])
def test_ranges_with_a_half(text: str, expected: tuple[D, D, str, str, str]) -> None:
    m = one(text)
    assert (m.low, m.high, m.unit, m.bound, m.text) == expected
    assert m.value is None


def test_ranges_with_a_half_in_context() -> None:
    m = one("预计净利润同比增长三到四成半。")
    assert (m.low, m.high, m.start, m.end, m.swapped) == (D(30), D(45), 9, 14, False)
    m = one("美联储或降息半个到一个百分点。")
    assert (m.low, m.high, m.unit, m.start, m.end) == (D(50), D(100), "bp", 6, 14)
    m = one("四到三成半")  # written high to low: the half is the second end's
    assert (m.low, m.high, m.swapped) == (D(35), D(40), True)
    assert one("约三到四成半").approximate is True
    # a 半 that begins a word is that word, in a range too
    m = find_magnitudes("三到四成半导体企业")[0]
    assert (m.low, m.high, m.text) == (D(30), D(40), "三到四成")


@pytest.mark.parametrize(("text", "expected"), [
    # 个 at both ends and no 半: the first end's 个 is 百分点's measure word, not a count of its own
    # (一个到两个百分点 read as 200 bp only)
    ("一个到两个百分点", (D(100), D(200), "bp", "range", "一个到两个百分点")),
    ("1个到2个百分点", (D(100), D(200), "bp", "range", "1个到2个百分点")),
    ("0.5个至1个百分点", (D(50), D(100), "bp", "range", "0.5个至1个百分点")),
    ("约两个到三个百分点", (D(200), D(300), "bp", "range", "约两个到三个百分点")),
    ("三个到两个百分点", (D(200), D(300), "bp", "range", "三个到两个百分点")),
    ("一到两个百分点", (D(100), D(200), "bp", "range", "一到两个百分点")),
    ("1到2个百分点", (D(100), D(200), "bp", "range", "1到2个百分点")),
])
def test_ranges_of_percentage_points_with_a_measure_word_at_both_ends(
        text: str, expected: tuple[D, D, str, str, str]) -> None:
    m = one(text)
    assert (m.low, m.high, m.unit, m.bound, m.text) == expected
    assert m.value is None


def test_a_count_before_a_range_of_percentage_points_stays_a_count() -> None:
    # only 个 lends itself to 百分点: 3家到5个百分点 is no range
    assert [(m.value, m.unit) for m in find_magnitudes("3家到5个百分点")] == [(D(3), "count"), (D(500), "bp")]
    m = one("美联储或降息一个到两个百分点。")
    assert (m.low, m.high, m.start, m.end, m.swapped) == (D(100), D(200), 6, 14, False)


def test_descending_range_is_swapped_and_noted() -> None:
    m = one("10%-5%")
    assert (m.low, m.high, m.swapped) == (D(5), D(10), True)
    assert one("5%-10%").swapped is False


def test_adjacent_numerals_are_an_approximate_range() -> None:
    m = one("三四成")
    assert (m.low, m.high, m.unit, m.bound, m.approximate) == (D(30), D(40), "pct", "range", True)
    assert span("两三倍") == (D(2), D(3), "multiple", "range")


def test_range_qualifiers() -> None:
    m = one("约3至4美元")
    assert (m.low, m.high, m.unit, m.bound, m.approximate, m.text) == (D(3), D(4), "USD", "range", True,
                                                                       "约3至4美元")
    assert one("2-3倍左右").approximate is True
    assert one("12%-17%之间").text == "12%-17%之间"


@pytest.mark.parametrize(("text", "low", "high", "unit"), [
    # the A-share buyback formula: a lower and an upper bound of one unit are one range
    ("拟以不低于50亿元且不超过100亿元的自有资金回购", D("5e9"), D("1e10"), "CNY"),
    ("不低于人民币50亿元（含）且不超过人民币100亿元（含）", D("5e9"), D("1e10"), "CNY"),
    ("回购金额不低于5亿元，不超过10亿元", D("5e8"), D("1e9"), "CNY"),
    ("不少于1000万股、不超过2000万股", D("1e7"), D("2e7"), "shares"),
    ("至少3%，最多5%", D(3), D(5), "pct"),
])
def test_a_lower_then_an_upper_bound_is_one_range(text: str, low: D, high: D, unit: str) -> None:
    m = one(text)
    assert (m.bound, m.value, m.low, m.high, m.unit) == ("range", None, low, high, unit)


@pytest.mark.parametrize(("text", "expected"), [
    ("不低于100亿元且不超过50亿元", [("at_least", "CNY"), ("at_most", "CNY")]),  # no range: low > high
    ("超过5%，不超过10亿元", [("at_least", "pct"), ("at_most", "CNY")]),  # two units
    ("不超过10亿元，不低于5亿元", [("at_most", "CNY"), ("at_least", "CNY")]),  # upper first: as written
    ("不低于人民币50亿元", [("at_least", "CNY")]),  # 人民币 between the qualifier and the number
])
def test_bounds_that_are_no_range_stay_apart(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(m.bound, m.unit) for m in find_magnitudes(text)] == expected


@pytest.mark.parametrize(("text", "expected"), [
    # a move then a level, not a range: the units differ or the level has none
    ("涨1.28%至64.02美元", [(D("1.28"), "pct"), (D("64.02"), "USD")]),
    ("下跌0.4%至152.83", [(D("0.4"), "pct"), (D("152.83"), "count")]),
    ("上涨2个基点,至4.27%", [(D(2), "bp"), (D("4.27"), "pct")]),
])
def test_not_ranges(text: str, expected: list[tuple[D, str]]) -> None:
    assert [(m.value, m.unit) for m in find_magnitudes(text)] == expected


# --------------------------------------------------------------------------------------------
# Bounds and qualifiers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "bound", "approximate"), [
    ("约5%", "about", True), ("大约5%", "about", True), ("近5%", "about", True), ("接近5%", "about", True),
    ("5%左右", "about", True), ("5%上下", "about", True),
    ("超5%", "at_least", False), ("超过5%", "at_least", False), ("逾5%", "at_least", False),
    ("逾越5%", "at_least", False), ("超逾5%", "at_least", False), ("不低于5%", "at_least", False),
    ("不少于5%", "at_least", False), ("至少5%", "at_least", False), ("5%以上", "at_least", False),
    ("不超过5%", "at_most", False), ("不高于5%", "at_most", False), ("至多5%", "at_most", False),
    ("5%以下", "at_most", False), ("5%", "exact", False),
    ("最高5%", "at_most", False), ("最高达5%", "at_most", False), ("最高可达5%", "at_most", False),
])
def test_qualifiers(text: str, bound: str, approximate: bool) -> None:
    m = one(text)
    assert (m.value, m.unit, m.bound, m.approximate, m.text) == (D(5), "pct", bound, approximate, text)


@pytest.mark.parametrize(("text", "expected"), [
    ("100多亿美元", (D(10**10), "USD", "at_least")),
    ("1万余吨", (D(10_000), "tonnes", "at_least")),
    ("3倍多", (D(3), "multiple", "at_least")),
    ("近翻倍", (D(2), "multiple", "about")),
    ("涨超5.7%", (D("5.7"), "pct", "at_least")),
])
def test_more_than(text: str, expected: tuple[D, str, str]) -> None:
    assert point(text) == expected


def test_qualifier_tails_of_other_words_are_ignored() -> None:
    # 违约 (default) ends in 约, 最近 in 近: neither makes the amount approximate.
    assert point("违约30亿元") == (D(3 * 10**9), "CNY", "exact")
    assert point("最近5%") == (D(5), "pct", "exact")
    # 最高 names a court or a price, not a bound, unless right before the figure
    assert point("最高法院判决罚款5亿美元") == (D(5 * 10**8), "USD", "exact")
    assert point("最高价10元") == (D(10), "CNY", "exact")


# --------------------------------------------------------------------------------------------
# Not magnitudes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "2026年1月29日", "1月29日", "2026年", "2025年", "21:52", "21：52", "Q3", "第三季度", "三季度", "第一",
    "2026-01-29", "2026/1/29", "2025-2026", "3至4月", "12个月", "3个交易日", "10年期", "2026财年",
    "标普500指数", "沪深300", "日经225", "600519.SH", "000001", "+0800", "GPT-4", "5G", "H20芯片",
    "一度", "三星", "百度", "万科", "两次", "十五五规划", "数十亿", "一股热潮", "下午3点", "7500万公里",
    "3纳米", "articles/3764500", "Thu, 29 Jan", "(1)", "第1-3点", "一成不变",
])
def test_not_magnitudes(text: str) -> None:
    assert find_magnitudes(text) == []


def test_bare_numbers_are_counts() -> None:
    assert point("100") == (D(100), "count", "exact")
    assert point("用户达1500万") == (D(15_000_000), "count", "exact")
    assert point("两万亿") == (D(2 * 10**12), "count", "exact")


def test_sentence_with_dates_and_amounts() -> None:
    text = "2026年1月29日，贵州茅台公告称，2025年净利润约862亿元，同比增长9%，Q4营收增长超10%。"
    assert [(m.value, m.unit, m.bound) for m in find_magnitudes(text)] == [
        (D(86_200_000_000), "CNY", "about"), (D(9), "pct", "exact"), (D(10), "pct", "at_least"),
    ]


# --------------------------------------------------------------------------------------------
# Price changes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "old", "new", "currency", "change_pct", "direction"), [
    ("将12个月目标价从655美元下调至600美元", D(655), D(600), "USD", D("-8.40"), -1),
    ("从655美元下调至600美元", D(655), D(600), "USD", D("-8.40"), -1),
    ("目标价由150港元上调至180港元", D(150), D(180), "HKD", D("20.00"), 1),
    ("目标价从150上调至180港元", D(150), D(180), "HKD", D("20.00"), 1),
    ("目标价上调至600美元", None, D(600), "USD", None, 1),
    ("进而将目标价下调至600美元", None, D(600), "USD", None, -1),
    ("目标价2000元", None, D(2000), "CNY", None, 0),
    ("并将目标价定为250美元", None, D(250), "USD", None, 0),
    ("目标价从６５５美元下调至６００美元", D(655), D(600), "USD", D("-8.40"), -1),
])
def test_price_change(text: str, old: D | None, new: D, currency: str, change_pct: D | None,
                      direction: int) -> None:
    pc = find_price_change(text)
    assert pc is not None
    assert (pc.old, pc.new, pc.currency, pc.change_pct, pc.direction, pc.unit) == (
        old, new, currency, change_pct, direction, "price")
    assert text[pc.start:pc.end] == pc.text


@pytest.mark.parametrize("text", ["目标市盈率从32倍下调至28倍", "利率下调至3%", "营收增长5%", ""])
def test_no_price_change(text: str) -> None:
    assert find_price_change(text) is None


# --------------------------------------------------------------------------------------------
# Vocabulary and helpers
# --------------------------------------------------------------------------------------------


def test_vocabulary() -> None:
    assert {CURRENCY_WORDS[w] for w in ("元", "人民币")} == {"CNY"}
    assert (CURRENCY_WORDS["美元"], CURRENCY_WORDS["港元"], CURRENCY_WORDS["港币"], CURRENCY_WORDS["欧元"],
            CURRENCY_WORDS["日元"], CURRENCY_WORDS["韩元"], CURRENCY_WORDS["英镑"]) == (
        "USD", "HKD", "HKD", "EUR", "JPY", "KRW", "GBP")
    assert {"pct", "bp"} == PERCENT_UNITS
    assert PERCENT_UNITS <= UNITS and set(CURRENCY_WORDS.values()) <= UNITS


def test_parse_magnitude() -> None:
    expected = Magnitude(D(25), None, None, "bp", "exact", False, 2, 7, "25个基点")
    assert parse_magnitude("降息25个基点") == expected
    assert parse_magnitude("没有数字") is None


def test_fold_width_keeps_length() -> None:
    text = "涨１２．５％，报１，２３４点"
    assert len(fold_width(text)) == len(text)
    assert fold_width(text) == "涨12.5%,报1,234点"


_EXCERPT_EXPECTED = [
    ("0.2%", D("0.2"), None, None, "pct", "exact"),
    ("53274.71点", D("53274.71"), None, None, "points", "exact"),
    ("0.3%", D("0.3"), None, None, "pct", "exact"),
    ("约3至4美元", None, D(3), D(4), "USD", "range"),
    ("72美元", D(72), None, None, "USD", "exact"),
    ("25个基点", D(25), None, None, "bp", "exact"),
    ("3.50%-3.75%", None, D("3.5"), D("3.75"), "pct", "range"),
    ("近8万辆", D(80000), None, None, "count", "about"),
    ("90%以上", D(90), None, None, "pct", "at_least"),
    ("1.63亿", D(163_000_000), None, None, "count", "exact"),
    ("655美元", D(655), None, None, "USD", "exact"),
    ("600美元", D(600), None, None, "USD", "exact"),
    ("69.23%-93.40%", None, D("69.23"), D("93.40"), "pct", "range"),
    ("93%", D(93), None, None, "pct", "exact"),
    ("4.2亿元至4.8亿元人民币", None, D(420_000_000), D(480_000_000), "CNY", "range"),
    ("2.48亿元", D(248_000_000), None, None, "CNY", "exact"),
    ("69.23%至93.40%", None, D("69.23"), D("93.40"), "pct", "range"),
    ("四到六成", None, D(40), D(60), "pct", "range"),
]


def test_real_feed_excerpt() -> None:
    """Lines of a real wallstreetcn day: headers (Thu, 29 Jan 2026 21:52:24 +0800), URLs, dates, 12个月,
    日经225 and 1月29日 give nothing; every amount is found with its exact value."""
    text = (FIXTURES / "wallstreetcn_excerpt.txt").read_text(encoding="utf-8")
    found = [(m.text, m.value, m.low, m.high, m.unit, m.bound) for m in find_magnitudes(text)]
    assert found == _EXCERPT_EXPECTED


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

_FULL = str.maketrans("0123456789.%,-", "０１２３４５６７８９．％，－")
_MULTIPLIERS = {"": 1, "万": 10**4, "亿": 10**8, "万亿": 10**12, "千万": 10**7, "百万": 10**6, "千亿": 10**11}
_decimals = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=300)
@given(st.integers(min_value=0, max_value=10**16 - 1))
def test_chinese_numeral_round_trip(n: int) -> None:
    assert parse_number(to_chinese_numeral(n)) == n


@given(_decimals, st.sampled_from(sorted(_MULTIPLIERS)))
def test_arabic_with_multiplier(x: D, mult: str) -> None:
    assert parse_number(f"{x}{mult}") == x * _MULTIPLIERS[mult]


@given(_decimals, st.sampled_from(sorted(_MULTIPLIERS)), st.sampled_from(["美元", "元", "%", "个基点", "倍"]))
def test_full_width_equals_half_width(x: D, mult: str, unit: str) -> None:
    half = f"营收增长{x}{mult}{unit}，"
    full = half.translate(_FULL)
    strip = [(m.value, m.low, m.high, m.unit, m.bound, m.start, m.end) for m in find_magnitudes(half)]
    assert strip == [(m.value, m.low, m.high, m.unit, m.bound, m.start, m.end) for m in find_magnitudes(full)]
    assert parse_number(f"{x}{mult}".translate(_FULL)) == parse_number(f"{x}{mult}")


@given(_decimals, _decimals, st.sampled_from(["%", "亿美元", "倍", "万吨"]), st.sampled_from("-至到~"))
def test_ranges_keep_low_le_high(a: D, b: D, unit: str, sep: str) -> None:
    (m,) = find_magnitudes(f"预计增长{a}{unit}{sep}{b}{unit}。")
    assert m.bound == "range" and m.low <= m.high
    assert m.swapped == (a > b)
    factor = D(10**8) if unit == "亿美元" else D(10**4) if unit == "万吨" else D(1)
    assert (m.low, m.high) == (min(a, b) * factor, max(a, b) * factor)


@given(st.integers(1, 9999), st.integers(1, 9999), st.sampled_from(["元", "美元", "股", ""]))
def test_a_next_part_in_chinese_numerals_adds_up(a: int, b: int, unit: str) -> None:
    """{a}亿{b in Chinese numerals}万元 is a*1e8 + b*1e4, as {a}亿{b}万元 is."""
    text = f"公司拟募资{a}亿{to_chinese_numeral(b)}万{unit}，"
    (m,) = find_magnitudes(text)
    assert m.value == a * 10**8 + b * 10**4
    assert m.unit == {"元": "CNY", "美元": "USD", "股": "shares", "": "count"}[unit]
    assert (m.bound, m.text) == ("exact", text[5:-1])
    assert [(x.value, x.unit) for x in find_magnitudes(f"{a}亿{b}万{unit}")] == [(m.value, m.unit)]


_CN = "一二三四五六七八九"


@given(st.integers(1, 9), st.booleans(), st.integers(1, 9), st.booleans(), st.sampled_from(["成", "倍"]),
       st.sampled_from("至到-~"), st.booleans())
def test_halves_at_either_end_of_a_range(a: int, a_half: bool, b: int, b_half: bool, unit: str, sep: str,
                                         short: bool) -> None:
    """三成半到四成半, 三到四成半 (the first end without its unit), 一倍半至两倍: each 半 is half a
    unit more at its own end; low <= high, swapped when written high to low."""
    step, factor = (D(5), D(10)) if unit == "成" else (D("0.5"), D(1))
    first = f"{_CN[a - 1]}{unit}{'半' if a_half else ''}"
    if short:  # 三到四成半: the first end borrows the unit; it has no half of its own
        first, a_half = _CN[a - 1], False
    text = f"预计增长{first}{sep}{_CN[b - 1]}{unit}{'半' if b_half else ''}。"
    ends = (a * factor + (step if a_half else 0), b * factor + (step if b_half else 0))
    (m,) = find_magnitudes(text)
    assert (m.low, m.high, m.bound, m.unit) == (min(ends), max(ends), "range",
                                                 "pct" if unit == "成" else "multiple")
    assert m.swapped == (ends[0] > ends[1])
    assert m.text == text[4:-1]


def _point_end(n: int, half: bool, arabic: bool, last: bool) -> str:
    """One end of a 百分点 range: 半个, 一个半 / 1个半, 两个 / 2个 (or a bare 2 on the left)."""
    if n == 0:
        return "半个" if last else "半"
    digits = str(n) if arabic else _CN[n - 1]
    return f"{digits}个半" if half else f"{digits}个" if last else digits


@given(st.integers(0, 5), st.booleans(), st.integers(0, 5), st.booleans(), st.booleans(),
       st.sampled_from("至到"))
def test_halves_in_a_range_of_percentage_points(a: int, a_half: bool, b: int, b_half: bool, arabic: bool,
                                                sep: str) -> None:
    """半个到一个百分点 is 50..100 bp, 一到一个半百分点 100..150 bp: both ends in bp, low <= high."""
    a_half, b_half = a_half or a == 0, b_half or b == 0
    if not (a_half or b_half):
        a_half = True
    text = f"降息{_point_end(a, a_half, arabic, False)}{sep}{_point_end(b, b_half, arabic, True)}百分点。"
    ends = (a * 100 + (50 if a_half else 0), b * 100 + (50 if b_half else 0))
    (m,) = find_magnitudes(text)
    assert (m.low, m.high, m.bound, m.unit) == (min(ends), max(ends), "range", "bp")
    assert m.swapped == (ends[0] > ends[1])
    assert m.text == text[2:-1]


_ALPHABET = ("0123456789０１２３４５６７８９.,-%％~至到约超逾近以上下左右多余半"
             "一二两三四五六七八九十百千万亿零点成倍番翻个基百分之点元美港币股吨年月日第QAx/$: \n。，的了是")


@settings(max_examples=400)
@given(st.text(alphabet=_ALPHABET, max_size=60) | st.text(max_size=60))
def test_find_magnitudes_never_raises(text: str) -> None:
    found = find_magnitudes(text)
    last = 0
    for m in found:
        assert last <= m.start < m.end <= len(text)
        assert text[m.start:m.end] == m.text
        assert m.unit in UNITS
        assert m.bound in ("exact", "about", "at_least", "at_most", "range")
        if m.bound == "range":
            assert m.low is not None and m.high is not None and m.low <= m.high
        last = m.end
    find_price_change(text)


_FILLER = st.text(alphabet="市场投资者认为公司发布公告表示经济显示美国欧洲央行政策会议消息", min_size=1,
                  max_size=30)
_SENTENCES = ["净利润同比增长69.23%-93.40%。", "降息25个基点。", "营收约4.66亿元。",
              "产量下调至81万至87万吨。", "目标价上调至600美元。", "预增四到六成。"]


@given(st.sampled_from(_SENTENCES), st.sampled_from(_SENTENCES), _FILLER, st.integers(0, 30))
def test_unrelated_text_far_away_changes_nothing(first: str, second: str, filler: str, at: int) -> None:
    gap = "他们说" * 4 + "，" + "然后" * 4
    base = first + gap + second
    at = min(at, len(gap) - 8)
    cut = len(first) + 4 + at  # inside the gap, at least 4 characters from either sentence
    moved = base[:cut] + filler + base[cut:]

    def shape(text: str, shift_from: int, by: int) -> list[tuple]:
        return [(m.value, m.low, m.high, m.unit, m.bound, m.text,
                 m.start - (by if m.start >= shift_from else 0)) for m in find_magnitudes(text)]

    assert shape(moved, cut, len(filler)) == shape(base, cut, 0)


# ---- differential: the shortcuts of find_magnitudes give what the general path gives -------------
def _sample_feed_texts() -> list[str]:
    from signals.feeds import read_feeds

    feed = Path(__file__).resolve().parents[1] / "data" / "sample" / "wallstreetcn-2026-01-29.xml"
    texts = [f"{a.title}\n\n{a.body}" for a in read_feeds([str(feed)])]
    clauses = [c for t in texts for c in re.split(r"(?<=[，。！？；\n])", t) if c.strip()]
    return texts + clauses


def test_shortcuts_change_no_magnitude_on_the_sample_feed() -> None:
    texts = _sample_feed_texts()
    assert len(texts) > 1000
    for text in texts:
        assert find_magnitudes(text) == _find_magnitudes(text, shortcuts=False), text


@settings(max_examples=400)
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_shortcuts_agree_with_the_general_path(text: str) -> None:
    assert find_magnitudes(text) == _find_magnitudes(text, shortcuts=False)


@pytest.mark.parametrize(("text", "units"), [("\ud800增长12%", ["pct"]), ("营收\udfff4.66亿元", ["CNY"]),
                                           ("\ud83d", [])])
def test_lone_surrogates_do_not_break_find_magnitudes(text: str, units: list[str]) -> None:
    found = find_magnitudes(text)
    assert all(text[m.start:m.end] == m.text for m in found)
    assert [m.unit for m in found] == units


# ---- one_to_one_translator: str.translate's result, whatever the text ------------------------------
_WIDE = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def _reference(table: dict[int, int], lower_ascii: bool, text: str) -> str:
    return text.translate(table | ({c: c + 32 for c in range(65, 91)} if lower_ascii else {}))


@pytest.mark.parametrize("lower_ascii", [False, True])
def test_translator_matches_str_translate_on_every_bmp_character(lower_ascii: bool) -> None:
    every = "".join(map(chr, range(0x10000)))  # lone surrogates included
    translate = one_to_one_translator(_WIDE, lower_ascii=lower_ascii)
    assert translate(every) == _reference(_WIDE, lower_ascii, every)
    assert translate("") == ""


@given(st.text(alphabet=st.sampled_from("ＡＢａ１，：　A Zz9中文。\ud800") | st.characters(), max_size=80),
       st.booleans())
def test_translator_matches_str_translate(text: str, lower_ascii: bool) -> None:
    assert one_to_one_translator(_WIDE, lower_ascii=lower_ascii)(text) == _reference(_WIDE, lower_ascii, text)


@given(st.text(alphabet=st.sampled_from("ＡＢａ１，：　A Zz9中文。\ud800\U0001f600") | st.characters(),
               min_size=200, max_size=700), st.booleans())
def test_translator_matches_str_translate_on_long_texts(text: str, lower_ascii: bool) -> None:
    # long texts take the numpy table path, short ones the run path: both must be str.translate
    assert one_to_one_translator(_WIDE, lower_ascii=lower_ascii)(text) == _reference(_WIDE, lower_ascii, text)


def test_translator_rejects_tables_it_cannot_serve() -> None:
    with pytest.raises(ValueError, match="BMP"):
        one_to_one_translator({0x1F600: 0x20})
    with pytest.raises(ValueError, match="lower-case"):
        one_to_one_translator({ord("a"): ord("b")}, lower_ascii=True)


@pytest.mark.parametrize(("text", "expected"), [
    ("营收约为650亿美元", (D(65_000_000_000), "about")),
    ("营收约达650亿美元", (D(65_000_000_000), "about")),
    ("违约为5亿元", (D(500_000_000), "exact")),  # 违约: the guard of 约 holds for 约为 too
    ("合约为100手", (D(100), "exact")),
])
def test_约为_and_约达_are_about(text: str, expected: tuple) -> None:
    m = one(text)
    assert (m.value, m.bound) == expected
