"""Text + rulebook + linker -> Event records. Pure: no I/O, no database.

One Aho-Corasick pass finds every trigger of every rule; a rule's regexes then run only on the
sentence around its trigger hits. For each hit the engine reads, from the clause and sentence around
it: the subject (an entity), the direction, the magnitude, the modality (fact / expected / negated)
and the speaking institution (source). docs/rules.md explains each step with examples.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import importlib
import itertools
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import regex

from signals.numbers import find_magnitudes, one_to_one_translator
from signals.rules import MONEY_UNITS, TAXONOMY, Rule, Rulebook, SubjectSpec

if TYPE_CHECKING:
    from collections.abc import Callable

    from signals.entities import Linker, Mention
    from signals.feeds import Article
    from signals.numbers import Magnitude


@dataclass(frozen=True)
class Event:
    article_id: str
    rule_id: str
    rule_version: int
    type: str
    topic: str
    subject: str | None
    ticker: str | None
    entity_kind: str | None
    link_confidence: float | None
    direction: int
    magnitude: float | None
    magnitude_low: float | None
    magnitude_high: float | None
    unit: str | None
    magnitude_bound: str | None
    modality: str
    source: str | None
    evidence: str
    span_start: int
    span_end: int
    in_title: bool
    confidence: float
    relevance: int
    event_key: str
    exposures: tuple[tuple[str, int], ...]


# Full-width ASCII (digits, letters, %, ., +, -) is 1:1 with half-width, so spans stay valid.
_HALF_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if chr(cp) not in "，：；！？（）"}
_HALF_WIDTH[0x3000] = 0x20
SENTENCE_ENDS = frozenset("。！？；!?;\n")
CLAUSE_ENDS = frozenset("，,：:")
# Families whose events stand without a named subject (a rate cut of an unnamed central bank is news).
SUBJECT_OPTIONAL = frozenset({"monetary", "trade"})

# Modality cues, searched in the clause text before the trigger. `将` is future only when followed by
# a time or an auxiliary, because `将X下调至Y` is the disposal construction (= 把), not a forecast.
_DOUBLE_NEGATIVE = regex.compile(r"不排除|不能排除|并非不")
# 不急于/不着急/无需急于 say the move is not coming now (鲍威尔表示，目前不急于降息), as 无意 does
# 暂无/尚无/并无 (公司暂无在欧洲新建工厂的计划) say there is none, as 没有 does
_NEGATED = regex.compile(r"不会|不再|不太可能|不大可能|不打算|并未|尚未|未(?!来|知|经)|暂停|暂缓|否认|没有"
                         r"|暂无|尚无|并无|无意|拒绝|难以|叫停|取消|不急于|不急着|不着急|(?:无需|无须|不必|没必要|无必要)急于"
                         r"|不急$|不$|没$|无$")
# 终止/中止/停止/搁置 negate the plan they govern (宣布终止回购, 终止实施本次重组, 停止柏林工厂扩建,
# 搁置扩产计划), not what follows it: 终止收购后股价大跌, 中止增持计划后再度回购, 进入终止上市整理期首日
# 暴跌, 停止生产后重启扩产 happened; nor what it causes (供应商停止供货迫使通用汽车停产 is a halt)
_TERMINATED = regex.compile(r"(?:终止|中止|停止|搁置)(?!上市)"
                            r"(?:(?!导致|迫使|致使|使得|促使|引发|造成|令)[^后并再且又而,，;；]){0,12}$")
# What a negation governs ends at a causal verb: the event after it is what the negated thing caused
# (供应商暂停供货迫使通用汽车停产 is a halt; 取消订单导致工厂停产 too)
_CAUSED = regex.compile(r"导致|迫使|致使|使得|促使|引发|造成")
# …unless the causal verb is itself negated (火灾不会导致工厂停产, 地震未造成生产线停产)
_NEGATOR_END = regex.compile(r"(?:不会|不至于|不致|不|未能|并未|未|没有|没|无法|难以)$")


def _negation_scope(before: str) -> str:
    parts = _CAUSED.split(before)
    if len(parts) > 1 and not _NEGATOR_END.search(parts[-2]):
        return parts[-1]
    return before
# 料 is the verb "expect" (市场料美联储将降息, 料将), not the noun in 材料/原料/资料/燃料… (对电池材料
# 加征关税) nor 意料/所料; a rumour (网传, 传言, 据传, 盛传) is at most expected.
_EXPECTED = regex.compile(
    r"预计|预期|预测|预估|预判|预料|筹划|或将|或许|或会|押注|计划|拟|有望|可能|料将|"
    r"(?<![材原资饲燃塑涂肥物爆史照布木草香颜辅用备废衣面调佐笑意所配养染石油胶浆粉焦煤钢板加投进下猛主预硅饮骨饵])"
    r"料(?!理|子)|"
    r"倾向|呼吁|敦促|希望|考虑|准备|"
    r"若|如果|假如|一旦|据悉|传闻|传言|网传|据传|盛传|风传|消息人士|威胁|酝酿|寻求|讨论|商谈|洽谈|谈判|适时|择机|"
    r"将(?=于|在|会|要|再(?!融资|贴现|贷款)|进一步|继续|逐步|正式|首次|年内|今年|明年|下周|本周|[0-9一二三四五六七八九十]+月|$)|"
    r"或$|会$|要$"
)
# Odds stated as nil or slim (12月降息的可能性为零, 加征关税的可能性微乎其微) say it will not happen
_NIL_ODDS_AFTER = regex.compile(r"的?(?:可能性?|概率|几率|机会)(?:已经?|几乎|基本)?"
                                r"(?:为零|是零|为0|等于零|接近于?零|微乎其微|极低|极小|很低|很小|不大|较低|较小|渺茫)")
# …and odds stated as high or rising (3月降息的可能性较大, 降息的可能性正在上升) make it expected
_LIKELY_ODDS_AFTER = regex.compile(r"的?(?:可能性?|几率)(?:已经?|正在|进一步)?"
                                   r"(?:较大|很大|极大|大增|上升|增加|增大|提高|升高|升温|加大)")
# The plan the trigger names, halted right after it (柏林工厂扩建暂停, 扩产计划被搁置, 回购计划终止):
# negated as when the verb comes first; not a halt that is over (美联储降息暂停后再次降息)
_HALTED_AFTER = regex.compile(r"(?:计划|项目|工程|工作|进程)?(?:均|都)?(?:已经|已|或将|将)?"
                              r"(?:被|遭|宣告|宣布)?"
                              r"(?:暂停|停止|中止|终止|取消|搁置|叫停|暂缓)(?!后|之后|以后)")
# A hypothetical or conditional clause earlier in the sentence (若反通胀受阻，全年或不降息) states no
# event: the trigger describes what would happen, not what happened or is planned. 若干 is "several".
_CONDITIONAL = regex.compile(r"若(?!干)|如果|假如|假若|倘若|一旦|万一|要是")
# A definition (所谓降准，是指…) describes the tool, not a move; 所谓 alone scare-quotes (在所谓的解放日，
# 美国宣布…加征关税) and the sentence stays news.
_DEFINITION = regex.compile(r"所谓[^。；]{0,16}?(?:是指|指的是|就是|即是)")
# …and so does the term defined right after it (降息是指…, 降准即央行下调存款准备金率; not 即将/即可/即使 …),
# or asked for (什么是降准？); a sentence opening with the rule's own term defined (降准即央行下调…) is
# a definition for its other triggers too, but 即 after any other opening is "at once" (开盘即一字涨停)
_DEFINES = r"即(?!将|可|时|便|使|日|刻|期|为)|是指|指的是|就是指"
_DEFINED_AFTER = regex.compile(r"[”\"’」]?(?:" + _DEFINES + r"|的定义是|的意思是)")
_DEFINITION_OPENING = regex.compile(r"\s*[“\"‘「]?(?P<term>[\p{Han}A-Za-z]{1,8})[”\"’」]?"
                                    r"(?:" + _DEFINES + ")")
_WHAT_IS = regex.compile(r"(?:什么是|何为|何谓)[“\"‘「]?$")
# Absence (本季度未回购, 未参与该芯片) is no corporate event; only a denial (否认收购) is news.
_ABSENT = regex.compile(r"并未|尚未|未(?!来|知|经)|没有|从未|暂无|尚无|并无")
# a research house's own forecast (高盛预计…), or its revision of one in the same clause (高盛下调苹果全年
# 营收预期)
_FORECAST_VERBS = ("预计", "预期", "预测", "估计")
_REVISION_VERBS = ("下调", "上调", "调降", "调升", "下修", "上修", "调低", "调高")
# A worry or fear (担忧今年可能不再降息) is sentiment about an event, not the event itself.
# …or named as what is feared (由盈转亏的担忧升温, 减产的忧虑)
_WORRY_AFTER = regex.compile(r"的?(?:担忧|担心|忧虑|恐慌|疑虑)")
_WORRY = regex.compile(r"担忧|担心|忧虑|害怕|恐惧|警惕")
# The event named as what is expected (降息预期升温, 加息的押注, 降息的预期时点推迟至6月), or its count or
# size (降息次数预期上调至三次, 降息次数的预期增加), is expected, not done, unless the expectation came
# true (降息预期落地/兑现/成真, 降息预期内: it happened); that expectation cooling (降息预期降温, 加息预期
# 落空, 降息的预期次数下降至两次, 降息幅度的定价缩小), or a count of it that falls (预计年内降息次数将
# 减少至一次), makes it less likely: no event at all. The taxonomy has no type for such a repricing, and
# an expected cut would give it the opposite sign.
_EXPECTED_AFTER = regex.compile(r"的?(?:(?:次数|幅度|规模)的?)?(?:预期|押注|期待|憧憬)"
                                r"(?![^，。；]{0,4}?(?:落地|兑现|成真|应验)|之?内|之中)")
# What someone deems right (9月降息是合适的, 进一步加息是必要的) is a view of the event, at most expected.
_ADVOCATED_AFTER = regex.compile(r"[^，。；]{0,6}?(?:是|将是|才是|或是|会是)"
                                 r"(?:合适|适当|恰当|合理|必要|明智|正确)的")
_FALLING = (r"(?:降温|减弱|消退|落空|回落|受挫|降低|下降|减少|破灭|弱化|下调|下修|调降|降至|降到|减至|减到|"
            r"缩小|缩减|收窄)")
# What stands between the expectation and the verb that falls: not a verb that passes the fall to
# something else (降息预期推动收益率下降, 加息预期支撑日元跌幅收窄, 降息预期下美债收益率降至4%: the yield
# falls, the expectation stands, an expected event)
_NOT_CAUSING = (r"(?:(?!推动|带动|推升|推高|推低|压低|拉低|拖累|支撑|提振|打压|导致|引发|促使|致使|刺激|助推|"
                r"使|令|让|下(?![调修降滑]))[^，。；])")
_DAMPENED_AFTER = regex.compile(r"的?(?:(?:次数|幅度|规模)的?)?(?:预期|押注|期待|憧憬|定价)" + _NOT_CAUSING
                                + r"{0,6}?" + _FALLING + r"|的?次数" + _NOT_CAUSING + r"{0,4}?" + _FALLING)
# Bets or hopes that something weakens (贝森特的表态可能削弱市场对日本央行“马上加息”的押注, 数据打消了
# 对降息的预期) make the event less likely: they do not expect it. 强化…押注 still does.
_DAMPENED = regex.compile(r"(?:削弱|打消|降低|减弱|浇灭|打压|压低|冷却|抑制)了?(?:市场|投资者|交易员|外界)?"
                          r"[^，。；]{0,4}?对[^，。；]{1,24}?(?:押注|预期|期待|期望|憧憬|希望)")
# A question about the event (美联储是否会在3月降息？, 净利润是否超预期) states nothing: the asking
# word before the trigger in its clause, or a 吗 question that the trigger's clause ends with.
_QUESTION_BEFORE = regex.compile(r"是否|能否|会否|可否|会不会|能不能|是不是|有没有")
_QUESTION_AFTER = regex.compile(r"[^，。；！]{0,12}?吗\s*[?？]")
# ... unless the question is about the event's cause or meaning, which takes it as given
# (暴跌5%的原因你看懂了吗？); 降息的概率大吗？ still asks whether it happens
_PRESUPPOSED = regex.compile(r"的?(?:原因|背后|真相|逻辑|秘密|启示|目的|用意|动机)|为了")
# A bare question mark ending the trigger's clause (茅台股价创历史新高？答案是否定的; 被视为变相提高关税？)
# asks whether it happened, as 吗 does; not a wh-question, which takes the event as given
# (英伟达为何暴跌10%？, 降息后美股怎么走？)
_WH_QUESTION = regex.compile(r"为何|为什么|为啥|怎么|怎样|如何|什么|哪|谁|多少|多大|几何|何时|何以|何在"
                             r"|原因|意味|影响")
# An expectation that was resolved is no expectation cue: a surprise (出人意料地将利率上调, 出乎意料, 意料
# 之外, 超预期降息) or one met (不出所料, 符合预期) happened. Removed from the text before the trigger
# before the expectation cues are searched.
_RESOLVED_EXPECTATION = regex.compile(
    r"出人意料|出乎(?:市场|外界|投资者|分析师)?(?:意料|预料|预期)|(?:市场|外界)?意料之外"
    r"|超出(?:市场|外界)?(?:意料|预料|预期)"
    r"|超(?:市场)?预期|好于(?:市场)?预期|不及(?:市场)?预期|低于(?:市场)?预期|高于(?:市场)?预期|大于(?:市场)?预期"
    r"|符合(?:市场)?(?:普遍)?预期|不出所料|如(?:市场)?所料|如(?:市场)?预期")
# A sensitivity (关税每上升10个百分点，将拖累出口…, 每降息25个基点, 油价每上涨10%) is a hypothetical step,
# not a move; not a price per unit (每桶上涨5美元, 每加仑, 每升, 每股收益增长).
_PER_STEP = regex.compile(r"每(?:一次|次|轮|一轮)?(?:再|多)?(?:上升|提高|提升|增加|上调|上涨|下降|降低|下调"
                          r"|下跌|减少"
                          r"|削减|增长|变动|加息|降息|降准|加征|涨|跌|降(?!价))")
# …but 每次/每轮 right after a count of moves made is the size of each
# (美联储今年已降息三次，每次降息25个基点)
_EACH_OF_MOVES = regex.compile(r"(?:[一二两三四五六七八九十\d]+|多)(?:次|轮)[，,]$")
# A rumour denied in its sentence (网传比亚迪将大规模裁员，公司回应称消息不实; …纯属谣言; 已辟谣) is
# negated, as a denial before the trigger (否认将裁员) is: the denial after the trigger in its clause
# (裁员消息不实), or in a later clause when a report or rumour opens the sentence before the trigger (a
# denial of something else stays out: 美联储降息25个基点，白宫否认该报道). A bare 否认 ending its clause
# (网传小米集团裁员，小米集团否认) and a reply's colon (回应网传裁员消息：不实) deny too.
_DENIED_AFTER = regex.compile(
    r"消息不实|不实(?:消息|信息|传言|传闻|报道)|(?:并|均)?不属实|纯属(?:谣言|虚构|捏造|子虚乌有)|(?:系|是|为|属)谣言"
    r"|辟谣|子虚乌有|否认(?:了)?(?:该|此|这一|上述|相关|这些|有关)?(?:消息|传闻|传言|报道|说法)"
    r"|(?:予以)?否认(?:了)?(?=[。！!；;，,]|$)|[：:]\s*(?:纯属)?(?:不实|不属实|谣言)"
    r"|(?:消息|传闻|传言|报道|说法)(?:并|均)?(?:不实|不准确|不真实|失实)")
_REPORTED = regex.compile(r"网传|传言|据传|盛传|风传|传闻|传出|爆料|曝出|消息称|报道称|据报道|市场消息")
# 曾 recalls the past (2023年，英特尔曾宣布在德国建设晶圆厂; 美联储曾连续四次加息): background, not
# news; not 未曾/不曾/何曾, 曾一度 or 曾 after a session of today (盘中曾大涨5%: the day's peak), nor the
# surname (董事长曾毓群, 高管曾学忠, 曾某; 曾 opening the clause; but 董事曾于2023年增持 recalls), nor
# what a party once was (特斯拉曾经的对手比亚迪, 曾是…的).
_ONCE = regex.compile(r"(?<=[^，,：:。！？；\s])(?<![未不何])"
                      r"(?<!(?:盘中|日内|早盘|午盘|午后|尾盘|盘后|盘前|今日|今天|当日|当天)[^。；！？\n]{0,10})"
                      r"(?:(?<!(?:董事长|总裁|主席|总经理|CEO|首席执行官|创始人|行长|部长|经济学家|分析师|高管|董事|监事"
                      r"|董秘|实控人|实际控制人|掌门人|负责人))"
                      r"曾(?!经?(?:的|是))(?:经)?(?!一度|任|担任|毓群|庆洪|芳勤|学忠|几何|某)"
                      r"|曾(?=经(?!的|是)|于|多次|连续|先后|两度|三度))")
# The moves a bank has made so far, counted (今年已累计降息三次, 已连续两次加息, 今年已降息两次,
# 已累计降息150个基点) are background, not a decision; read at the trigger only, so a decision in a
# later clause of the same sentence (美联储已连续两次降息，本周再次降息25个基点) stays. A forecast total
# has no 已 (预计将累计降息).
_SO_FAR_BEFORE = regex.compile(r"(?:已|已经)(?:(?:累计|连续|先后|共|合计)(?:[一二两三四五六七八九十\d]+次)?"
                               r"|[一二两三四五六七八九十\d]+次)$")
_SO_FAR_AFTER = regex.compile(r"[一二两三四五六七八九十\d]+次")


# …and the size of each of them (美联储今年已降息三次，每次降息25个基点)
_SO_FAR_EACH = regex.compile(
    r"(?:已|已经)[^，。；]{0,6}?(?:[一二两三四五六七八九十\d]+|多)(?:次|轮)[，,]\s*$")


def _made_so_far(doc: _Doc, hit: _Hit, sentence: tuple[int, int], clause: tuple[int, int]) -> bool:
    text, start = doc.text, max(clause[0], hit.start - 8)
    if text.startswith(("每次", "每一次", "每轮", "每一轮"), clause[0]) and _SO_FAR_EACH.search(
            text, sentence[0], clause[0]):
        return True
    return bool(_SO_FAR_BEFORE.search(text, start, hit.start)
                or (text.endswith(("已", "已经"), start, hit.start) and _SO_FAR_AFTER.match(text, hit.end)))


_SAID = regex.compile(r"(?:宣布|表示|称|指出|透露|披露|公布|提到|强调)[，,：:]$")
# A question that asks about the event as a topic (降准降息对银行股的影响究竟有多大？): the trigger's clause
# ends the question and an asking word follows the trigger in it; not when what is asked follows the event
# in time (美联储降息后美股为何下跌？) or the event is sized (a concrete move), nor another clause's question
# (美联储降息25个基点，美股为何下跌？), nor a question that takes the event as done (央行降准释放了多少资金？)
# or asks its purpose (宁德时代扩产到底为了什么？).
_WH_AFTER = regex.compile(r"究竟|到底|多大|多少|多高|多深|多久|如何|怎样|怎么|几何|为何|为什么|何时|哪些|什么"
                          r"|何在|有多|会不会|能不能|是否|可不可以|有没有")  # 加征关税会不会推高美国通胀？
_SEQUEL = regex.compile(r"后|以来|之际|当天|当日|过后|了|[0-9]")

# An intraday peak (盘中一度涨5%, 最高涨5%, 一度涨停) is not the day's move when the sentence also
# states how the instrument closed (…，收跌1%; 尾盘回落; 最终收涨2%): the close wins, and a closing
# move a rule covers is its own event. A peak with no close stated stays the move the text gives.
_PRICE_MOVES = frozenset({"price_surge", "price_plunge", "limit_up", "limit_down"})
_INTRADAY_PEAK = ("一度", "最高", "最多")
_INTRADAY_WINDOW = 8  # characters before the trigger in which a peak cue governs it
# 收盘 only with the move or level after it (截至收盘, 收盘时下跌1%, 收盘大涨3%): 收盘价创历史新高 says
# the peak held; 最终 only before a move or a close (最终上涨5%, 最终以…报收), not 最终敲定的交易
_CLOSE = regex.compile(r"收跌|收涨|收报|收于|报收|收平|收高|收低|截至收盘"
                       r"|收盘时?(?:[大小微暴狂猛]?(?:上涨|下跌|涨|跌)|持平|报|在)|尾盘"
                       r"|最终(?=[^，。；]{0,3}?(?:收|报|涨|跌|以))|终盘|转跌|转涨|翻绿|翻红|回吐|收窄|回落")

# 回落/收窄 say the move itself gave way (随后涨幅收窄, 一度涨5%后回落) only when nothing else is named in
# their clause before them: 此前碳酸锂价格回落, 通胀数据回落 are other things falling
_RETREATS = frozenset({"回落", "收窄"})
_ITS_OWN_RETREAT = regex.compile(r"(?:[0-9.%\s]|随后|之后|此后|其后|后|但|不过|午后|尾盘|早盘|股价|涨幅|跌幅|"
                                 r"涨势|跌势|有所|逐步|迅速|快速|略有|大幅|明显|小幅|再度|一路|又|便|即|则|也|并)*")


_normalise = one_to_one_translator(_HALF_WIDTH)
# Feeds mix ASCII commas into Chinese text (wallstreetcn writes "评级,并将目标价…"); rule patterns say
# "within the clause" with [^，。；], so an ASCII comma that is not a digit group separator (1,000)
# is read as the full-width one. One character for one: spans stay valid.
_CLAUSE_COMMA = regex.compile(r"(?<![0-9]),|,(?![0-9])")


def _fold_commas(text: str) -> str:
    return _CLAUSE_COMMA.sub("，", text) if "," in text else text
_PARAGRAPH_BREAK = regex.compile(r"\n\s*\n")
_LIST_GAP = regex.compile(r"[、和及与跟\s/,]*")  # what may stand between two names of one list
_SENTENCE_MARK, _CLAUSE_MARK = 1, 2
_MARK_KIND = np.zeros(0x110000, np.uint8)  # code point -> mark kind (1.1 MB, built once)
_MARK_KIND[[ord(c) for c in SENTENCE_ENDS]] = _SENTENCE_MARK
_MARK_KIND[[ord(c) for c in CLAUSE_ENDS]] = _CLAUSE_MARK


# A sentence longer than this ends at its last clause mark within the limit (or at the limit). News
# sentences stay far below it; a feed item of clauses without one full stop (英伟达股价大涨5%，… x 4,000)
# made one sentence whose every hit scanned every mention in it: minutes and gigabytes per item.
MAX_SENTENCE_CHARS = 1000


def _capped(ends: list[int], clause_marks: list[int], length: int) -> list[int]:
    """Sentence ends with the over-long sentences cut at clause marks (ends are positions after a mark)."""
    out: list[int] = []
    start = 0
    for end in [*ends, length] if not ends or ends[-1] < length else ends:
        while end - start > MAX_SENTENCE_CHARS:
            i = bisect.bisect_right(clause_marks, start + MAX_SENTENCE_CHARS - 1) - 1
            cut = clause_marks[i] + 1 if i >= 0 and clause_marks[i] >= start else start + MAX_SENTENCE_CHARS
            out.append(cut)
            start = cut
        out.append(end)
        start = end
    return out


def _units_match(mag: Magnitude, units: tuple[str, ...]) -> bool:
    return not units or mag.unit in units


def _took_part(match: Any, group: str | None) -> bool:
    """The named group is one of the matching pattern's and took part in the match. A rule's other
    patterns may lack it (lint only asks that one pattern has it): then the rule's fallback applies."""
    return match is not None and group in match.re.groupindex and match.start(group) >= 0


@dataclass
class _Hit:
    rule: Rule
    start: int  # the trigger span
    end: int
    match: Any | None  # regex match when the rule has patterns


# A name used for something else: a look-alike (美版ASML is Lam Research, 中国版英伟达), a theme or
# supply chain (英伟达概念股, 苹果供应链), and for a commodity its stocks (黄金股, 黄金板块).
_LOOKALIKE_BEFORE = regex.compile(r"版[\"“”「]?$")
_THEME_AFTER = regex.compile(r"[\"”」]?(?:概念|供应链|产业链|链(?!接)|平替)")
_COMMODITY_STOCKS_AFTER = regex.compile(r"(?:类|矿业|矿企|矿)?(?:股(?!价|市|指)|板块)")


_THEME_FIRST = frozenset("概供产链平\"”」")  # what _THEME_AFTER can start with: most mentions skip the regex

# A company named only to describe another one by its role: X's supplier (作为苹果供应商, 苹果的供应商)
# is another company, and so is the customer the subject serves or wins orders from
# (为客户宝马扩产, 为宝马等客户, 获苹果等客户大单) or the one 作为 ties the subject to (作为英伟达的合作伙伴).
# 富士康作为苹果供应商，营收大增 is about 富士康, never 苹果. Not a bare role word before a name
# (其客户英伟达宣布扩产: the customer is the subject there) nor 客户 after a name (台积电客户需求强劲),
# nor 代工厂, which is also the company's own plant (富士康代工厂停产).
_SUPPLIER_AFTER = regex.compile(r"(?:公司|集团)?的?(?:主要|核心|重要|最大的?|一级)?(?:供应商|供货商)")
_SERVED_BEFORE = regex.compile(r"(?:为|替|帮|给|向)(?:其|公司|旗下)?的?"
                               r"(?:大|主要|核心|重要|海外|美国|长期)?客户$")
# 为 only as 'for' (为宝马等客户): 认为台积电客户需求强劲 is about 台积电's own customers, as is 因为, 以为 …
_SERVED_VERB = regex.compile(r"(?:(?<![认以因称视更较最极甚颇尤行])为|替|帮|给|向|获|获得|接获|斩获|赢得|拿下"
                             r"|收到)了?$")
_CUSTOMER_AFTER = regex.compile(r"(?:公司|集团)?等?(?:大|主要|核心|重要)?客户")
# not 股东: 作为宁德时代的股东，高瓴资本宣布减持 is a stake in 宁德时代, the investee that 减持 is about
_ROLE_AFTER_AS = regex.compile(r"(?:公司|集团)?的?(?:客户|合作伙伴)")


def _names_a_role(text: str, m: Mention) -> bool:
    """The mention describes another company by its role (``_SUPPLIER_AFTER`` …): not the subject.
    Plain substring checks first: most mentions have no role word next to them and skip the regexes."""
    after = text[m.end:m.end + 8]
    if "供" in after and _SUPPLIER_AFTER.match(text, m.end):
        return True
    before = text[max(0, m.start - 8):m.start]
    if before.endswith("客户") and _SERVED_BEFORE.search(before):
        return True
    if "客户" in after and _SERVED_VERB.search(before) and _CUSTOMER_AFTER.match(text, m.end):
        return True
    return before.endswith("作为") and bool(_ROLE_AFTER_AS.match(text, m.end))


def _stands_for_another(text: str, m: Mention) -> bool:
    before = text[max(0, m.start - 2):m.start]
    if "版" in before and _LOOKALIKE_BEFORE.search(before):
        return True
    if text[m.end:m.end + 1] in _THEME_FIRST and _THEME_AFTER.match(text, m.end):
        return True
    if _names_a_role(text, m):
        return True
    return m.instrument.kind == "commodity" and bool(_COMMODITY_STOCKS_AFTER.match(text, m.end))


class _Doc:
    """One text prepared once: normalised, split, linked."""

    def __init__(self, raw: str, title_len: int, linker: Linker | None) -> None:
        self.raw = raw
        self.text = _fold_commas(_normalise(raw))
        self.title_len = title_len  # 0 when there is no title
        self.title_hits: dict[str, int] = {}  # event type -> start of its first hit in the title
        sentence_ends, self.clause_marks = self._marks(self.text)
        self.sentences = self._split(self.text, _capped(sentence_ends, self.clause_marks, len(self.text)))
        self.sentence_starts = [s for s, _ in self.sentences]
        body_start = title_len + 2 if title_len else 0
        self.paragraph_starts = [body_start] + [
            m.end() for m in _PARAGRAPH_BREAK.finditer(self.text, pos=body_start)
        ]
        # no linker: trigger and pattern diagnostics only (trigger_sentences), no subjects
        found = linker.find(self.text) if linker is not None else []
        self.mentions: list[Mention] = [m for m in found if not _stands_for_another(self.text, m)]
        self.mention_starts = [m.start for m in self.mentions]
        self._magnitudes: dict[int, list[Magnitude]] = {}
        self._lead_speakers: list[Mention] | None = None

    @staticmethod
    def _marks(text: str) -> tuple[list[int], list[int]]:
        """(sentence ends, clause mark positions): one table lookup per character in numpy, ~10x
        cheaper than a regex scan that makes a match object per mark (news has a mark every ~15 chars)."""
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
        kinds = _MARK_KIND[codes]
        sentence_ends = (np.flatnonzero(kinds == _SENTENCE_MARK) + 1).tolist()
        return sentence_ends, np.flatnonzero(kinds == _CLAUSE_MARK).tolist()

    @staticmethod
    def _split(text: str, ends: list[int]) -> list[tuple[int, int]]:
        """Sentences from their end positions; a sentence ends after its mark."""
        if not ends or ends[-1] < len(text):
            ends = [*ends, len(text)]
        return list(zip([0, *ends[:-1]], ends, strict=True)) if text else [(0, 0)]

    def sentence_of(self, pos: int) -> int:
        return max(0, bisect.bisect_right(self.sentence_starts, pos) - 1)

    def clause_of(self, pos: int, sentence: tuple[int, int]) -> tuple[int, int]:
        """The clause around ``pos``: from after the last clause mark before it to the next one."""
        s, e = sentence
        i = bisect.bisect_left(self.clause_marks, pos)
        start = self.clause_marks[i - 1] + 1 if i and self.clause_marks[i - 1] >= s else s
        end = self.clause_marks[i] if i < len(self.clause_marks) and self.clause_marks[i] < e else e
        return start, end

    def in_title(self, pos: int) -> bool:
        return pos < self.title_len

    def paragraph_of(self, pos: int) -> int:
        return max(0, bisect.bisect_right(self.paragraph_starts, pos) - 1)

    def mentions_in(self, start: int, end: int) -> list[Mention]:
        i = bisect.bisect_left(self.mention_starts, start)
        out = []
        while i < len(self.mentions) and self.mentions[i].start < end:
            if self.mentions[i].end <= end:
                out.append(self.mentions[i])
            i += 1
        return out

    def lead_speakers(self) -> list[Mention]:
        """Mentions seen speaking in the lead paragraph, read once per article: a scan per hit of a
        lead that is the whole text (no paragraph breaks) made long items quadratic."""
        if self._lead_speakers is None:
            lead_end = self.paragraph_starts[1] if len(self.paragraph_starts) > 1 else len(self.text)
            self._lead_speakers = [m for m in self.mentions_in(0, lead_end) if m.role_hint == "speaker"]
        return self._lead_speakers

    def magnitudes(self, sentence_index: int) -> list[Magnitude]:
        if sentence_index not in self._magnitudes:
            s, e = self.sentences[sentence_index]
            self._magnitudes[sentence_index] = [_shift(m, s) for m in find_magnitudes(self.text[s:e])
                                                if not _crosses_zero(m)]
        return self._magnitudes[sentence_index]


@dataclass(frozen=True)
class _Mag:
    value: float | None
    low: float | None
    high: float | None
    unit: str
    bound: str
    start: int
    end: int
    short_of: bool = False  # 近3% / 将近3%: close to the figure, i.e. just under it


# "近/将近/接近/逼近 X" is just under X: it does not reach a minimum of X (涨近3% is not a 3% move).
_SHORT_OF = regex.compile(r"^(?:将近|接近|逼近|近)")


def _crosses_zero(m: Magnitude) -> bool:
    """-5%至5%: a range from a fall to a rise has no size in one direction (taken unsigned, it was
    read as 5..5); such a figure is no magnitude."""
    return m.low is not None and m.high is not None and m.low < 0 < m.high


def _shift(m: Magnitude, offset: int) -> _Mag:
    def f(x: Any) -> float | None:
        return None if x is None else abs(float(x))

    low, high = f(m.low), f(m.high)
    if low is not None and high is not None and low > high:
        low, high = high, low
    return _Mag(f(m.value), low, high, m.unit, m.bound, m.start + offset, m.end + offset,
                bool(_SHORT_OF.match(m.text or "")))


# --------------------------------------------------------------------------------------------
# Finding hits
# --------------------------------------------------------------------------------------------


def _trigger_spans(doc: _Doc, rulebook: Rulebook) -> dict[int, list[tuple[int, int]]]:
    """Rule index -> the spans of its triggers in the text (one automaton pass)."""
    trigger_hits: dict[int, list[tuple[int, int]]] = {}
    for start, end, rule_indices in rulebook.find_triggers(doc.text):
        for ri in rule_indices:
            trigger_hits.setdefault(ri, []).append((start, end))
    return trigger_hits


def _find_hits(doc: _Doc, rulebook: Rulebook, article_id: str) -> list[_Hit]:
    """Trigger hits -> rule hits. Pattern rules run once per (rule, sentence) with a timeout."""
    trigger_hits = _trigger_spans(doc, rulebook)
    hits: list[_Hit] = []
    text, timeout, starts = doc.text, rulebook.regex_timeout, doc.sentence_starts
    sentence_masks: dict[int, int] = {}  # the prefilter's clauses each trigger sentence holds
    for ri in sorted(trigger_hits):
        rule = rulebook.rules[ri]
        spans = sorted(trigger_hits[ri])
        if not rule.patterns:
            hits.extend(_Hit(rule, s, e, None) for s, e in spans)
            continue
        any_pattern, gates, last = rule.any_pattern, rule.gates, -1
        for s, _ in spans:  # in text order: a sentence's spans come together
            si = bisect.bisect_right(starts, s) - 1  # starts[0] == 0 <= s
            if si == last:
                continue
            last = si
            patterns = rule.patterns
            if gates is not None:  # a pattern whose required literals are missing cannot match
                mask = sentence_masks.get(si)
                if mask is None:
                    mask = sentence_masks[si] = rulebook.gate_mask(text, *doc.sentences[si])
                patterns = rulebook.admitted(ri, mask)
                if not patterns:
                    continue
            if len(patterns) > 1 and any_pattern is not None and not _may_match(
                    any_pattern, text, doc.sentences[si], timeout):
                continue  # the common case: the trigger is there, none of the phrasings is
            hits.extend(_pattern_hits(doc, rule, si, spans, rulebook, article_id, patterns))
    return [h for h in _drop_overlaps(hits) if not _excluded(doc, h, rulebook, article_id)]


def _may_match(any_pattern: Any, text: str, sentence: tuple[int, int], timeout: float) -> bool:
    try:
        return any_pattern.search(text, sentence[0], sentence[1], timeout=timeout) is not None
    except TimeoutError:
        return True  # each pattern on its own then says which one is slow


def _pattern_hits(doc: _Doc, rule: Rule, si: int, spans: list[tuple[int, int]], rulebook: Rulebook,
                  article_id: str, patterns: tuple[Any, ...]) -> list[_Hit]:
    """The hits of ``patterns`` (the rule's, or those its prefilter admits) in sentence ``si``."""
    s, e = doc.sentences[si]
    text, timeout = doc.text, rulebook.regex_timeout
    hits = []
    for pattern in patterns:
        try:
            matches = list(pattern.finditer(text, s, e, timeout=timeout))
        except TimeoutError:
            rulebook.warn(rule.id, f"pattern {pattern.pattern!r} timed out in article {article_id or '?'}",
                          key=pattern.pattern)
            continue
        has_trigger = "trigger" in pattern.groupindex
        for m in matches:
            if has_trigger and m.start("trigger") >= 0:
                ts, te = m.span("trigger")
            else:  # the rule's own trigger inside the match marks the event, else the match itself
                ms, me = m.span()
                ts, te = next((sp for sp in spans if sp[0] >= ms and sp[1] <= me), (ms, me))
            hits.append(_Hit(rule, ts, te, m))
    return hits


def _drop_overlaps(hits: list[_Hit]) -> list[_Hit]:
    """Within one rule keep the longest of overlapping hits (降息 inside 降息25个基点 is one event)."""
    kept: list[_Hit] = []
    # per rule the kept spans are disjoint, so sorted by start they are sorted by end too: one
    # bisect finds the only two that could overlap a new span (a scan of all was quadratic)
    spans: dict[str, list[tuple[int, int]]] = {}
    for h in sorted(hits, key=lambda h: (h.rule.id, -(h.end - h.start), h.start)):
        taken = spans.setdefault(h.rule.id, [])
        i = bisect.bisect_left(taken, (h.start, h.end))
        if (i and taken[i - 1][1] > h.start) or (i < len(taken) and taken[i][0] < h.end):
            continue
        taken.insert(i, (h.start, h.end))
        kept.append(h)
    return kept


def _excluded(doc: _Doc, hit: _Hit, rulebook: Rulebook, article_id: str) -> bool:
    if not hit.rule.exclude:
        return False
    sentence = doc.sentences[doc.sentence_of(hit.start)]
    cs, ce = doc.clause_of(hit.start, sentence)
    union = hit.rule.any_exclude
    if union is not None:
        try:
            return union.search(doc.text, cs, ce, timeout=rulebook.regex_timeout) is not None
        except TimeoutError:
            pass  # each exclusion on its own then says which one is slow
    for pattern in hit.rule.exclude:
        try:
            if pattern.search(doc.text, cs, ce, timeout=rulebook.regex_timeout):
                return True
        except TimeoutError:
            rulebook.warn(hit.rule.id, f"exclude {pattern.pattern!r} timed out in article "
                                       f"{article_id or '?'}", key=f"exclude {pattern.pattern}")
    return False


def _excluded_between(doc: _Doc, hit: _Hit, subject: _Subject, clause: tuple[int, int]) -> bool:
    """A subject from an earlier clause passes the rule's exclusions on the stretch up to the trigger.

    丰田…销量增长3.7%至1050万辆，同样创下历史新高: the record is the sales figure's, and the
    exclusion that sees 销量 must look back to where the subject stands, not only at the clause.
    A clause that names the price (股价) is about the subject's price whatever came before."""
    sentence_start = doc.sentences[doc.sentence_of(hit.start)][0]
    if not hit.rule.exclude or subject.start is None or not sentence_start <= subject.start < clause[0]:
        return False
    if _ANAPHOR.search(doc.text, clause[0], hit.start):
        return False  # 营收超预期，但盘后股价却一度下挫: the clause names the price itself
    return any(p.search(doc.text, subject.start, clause[1]) for p in hit.rule.exclude)


# --------------------------------------------------------------------------------------------
# Reading one hit
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Subject:
    text: str | None
    ticker: str | None
    kind: str | None
    link_confidence: float | None
    start: int | None
    guessed: bool = False  # taken from the title, not read near the trigger


# 标普 alone names the rating agency as often as the S&P 500 (标普500, 标普500指数 are the index); in an
# analyst rule it is the agency that rates, never what is rated (标普下调英特尔评级, 英特尔被标普下调评级).
_RATING_AGENCY_NICKNAMES = frozenset({"标普"})


def _eligible(m: Mention, spec: SubjectSpec, family: str) -> bool:
    kind, kinds = m.instrument.kind, spec.kinds
    if spec.tickers and m.instrument.ticker not in spec.tickers:
        return False
    if m.role_hint == "speaker" and kind != "policy_body" and "institution" not in kinds:
        return False  # 大摩/高盛 speaking are the source, never the subject by default
    if family == "analyst" and (m.instrument.speaker or m.text in _RATING_AGENCY_NICKNAMES):
        return False  # brokers act on other companies' stocks: 瑞银坚持其对特斯拉的评级
    return not kinds or kind in kinds


# A mention right after 与/和/在/于 is a counterparty or a place (宁德时代与特斯拉签订, 在港交所停牌):
# the nearest-before search passes over it when a stronger candidate precedes it in the clause.
_WEAK_BEFORE = frozenset("与和同跟在于向")

# A mention right after 被/由 is the agent of a passive (英特尔被英伟达收购, 英特尔将由英伟达收购): not what
# the sentence is about, so neither the subject of a later clause (…，股价大涨20%: 英特尔) nor the stock
# a later 该股 means (…。该股盘后大涨20%). Not in the passive's own clause, where the agent is the actor
# (英特尔将由英伟达收购: 英伟达 acquires).
_PASSIVE_WEAK_BEFORE = _WEAK_BEFORE | frozenset("被由")


# A mention right after 在/于/向 frames the circumstance (在美元走弱中) and never ends a list.
_FRAME_BEFORE = frozenset("在于向")


# 受益于SQM的业绩增长，…扭亏为盈: what a result benefited from is its cause, like 受 (a tuple for endswith)
_CAUSE_BEFORE = ("受益于", "得益于", "受益", "得益")


# A company's name before a price that is not its share price names its product's (飞天茅台批发价格大跌,
# 特斯拉Model Y售价下调): its stock did not move. Commodities' prices are their own.
_GOODS_PRICE = regex.compile(r"的?(?:(?:批发|零售|出厂|终端|市场|成交|一批)价格?|价格(?!战)|售价)")


def _product_price(doc: _Doc, m: Mention, clause: tuple[int, int]) -> bool:
    """Only in the move's own clause: 特斯拉售价下调，股价大跌5% is the stock's move."""
    return (m.instrument.kind == "equity" and clause[0] <= m.start < clause[1]
            and bool(_GOODS_PRICE.match(doc.text, m.end)))


def _not_the_subject(doc: _Doc, m: Mention, clause: tuple[int, int]) -> bool:
    """A mention right after 兑 is the currency the subject is quoted against (印尼盾兑美元下跌: the
    rupiah fell, not the dollar). Right after 受 it is the cause in 受X推动/影响: not the subject of
    what happens in a later clause (受美元贬值推动，大宗商品飙升), but of its own (受特斯拉停产影响)."""
    before = doc.text[m.start - 1] if m.start else ""
    cause = before == "受" or doc.text.endswith(_CAUSE_BEFORE, max(0, m.start - 3), m.start)
    return before == "兑" or (cause and not clause[0] <= m.start < clause[1])


def _after_passive(doc: _Doc, m: Mention) -> bool:
    """``m`` follows 被 in its own clause (英伟达被纳入道指: 道指 is what 英伟达 was put into, 英特尔被英伟达
    收购: the agent): the clause is about the name before 被, not about ``m``."""
    sentence = doc.sentences[doc.sentence_of(m.start)]
    start, _ = doc.clause_of(m.start, sentence)
    return doc.text.find("被", start, m.start) >= 0


# Listed exchange operators: right after 在/于 (在港交所暂停买卖, 于芝商所上市) the exchange is where
# something trades or halts, never what does, even when the sentence names nothing else.
_EXCHANGE_OPERATORS = frozenset({"0388.HK", "ICE", "CME", "NDAQ"})


def _a_venue(doc: _Doc, m: Mention) -> bool:
    return (m.instrument.ticker in _EXCHANGE_OPERATORS and m.start > 0
            and doc.text[m.start - 1] in "在于"
            and not doc.text.endswith(_CAUSE_YU, 0, m.start))  # 由于港交所…: a cause, not a place


_CAUSE_YU = ("由于", "对于", "关于", "鉴于", "基于", "至于", "益于", "出于", "源于")


def _nearest_before(doc: _Doc, pool: list[Mention], anchor: int,
                    weak: frozenset[str] = _WEAK_BEFORE) -> Mention | None:
    """The last mention before ``anchor`` that is not weak, else the last one before it."""
    before = [m for m in pool if m.end <= anchor and not _a_venue(doc, m)]
    # a later clause (…，股价大涨5%) is about a passive's topic: what follows 被 in its clause is weak
    passive = weak is _PASSIVE_WEAK_BEFORE
    text = doc.text
    for m in reversed(before):  # from the nearest: the first strong one is the last of them
        if not (m.start and text[m.start - 1] in weak) and not (passive and _after_passive(doc, m)):
            return m
    return before[-1] if before else None


def _is_weak(doc: _Doc, m: Mention, weak: frozenset[str]) -> bool:
    return bool(m.start) and doc.text[m.start - 1] in weak


def _from_mention(doc: _Doc, m: Mention, guessed: bool = False) -> _Subject:
    return _Subject(doc.raw[m.start:m.end], m.instrument.ticker, m.instrument.kind, m.confidence, m.start,
                    guessed)


def _list_before(doc: _Doc, ms: list[Mention], anchor: int) -> list[Mention]:
    """The enumeration ending nearest before the trigger: 五粮液、山西汾酒等 -> both.

    It ends at the nearest mention not weakened by 在/与 (黄金、铜和白银在美元走弱中齐创新高: the
    metals, not 美元)."""
    before = [m for m in ms if m.end <= anchor]
    if not before:
        return []
    framed = [m for m in before if m.start and doc.text[m.start - 1] in _FRAME_BEFORE]
    if len(framed) < len(before):
        while before[-1] in framed:  # 和/与 inside a list (铜和白银) keep their place
            before = before[:-1]
    chain = [before[-1]]
    for m in reversed(before[:-1]):
        gap = doc.text[m.end:chain[-1].start]
        if not _LIST_GAP.fullmatch(gap):
            break
        chain.append(m)
    return list(reversed(chain))


_HEAD_END = regex.compile(r"\s*等?\s*")


def _header_list(doc: _Doc, clause: tuple[int, int], sentence: tuple[int, int],
                 candidates: Callable[[int, int], list[Mention]]) -> list[Mention]:
    """微软、谷歌：资本支出将增至800亿美元: a clause of two or more names and nothing else, closed by a
    colon right before the trigger's clause, says whose statement follows; each name is a subject
    (the nearest search took the last name alone). Any other word in that clause (两家公司…预期：) and
    it is no header. Only for rules with ``each``, when the trigger's clause names nobody before it."""
    colon = clause[0] - 1
    if colon < sentence[0] or doc.text[colon] not in "：:":
        return []
    start, _ = doc.clause_of(colon, sentence)
    names = candidates(start, colon)
    if len(names) < 2 or doc.text[start:names[0].start].strip():
        return []
    if not all(_LIST_GAP.fullmatch(doc.text, a.end, b.start) for a, b in itertools.pairwise(names)):
        return []
    return names if _HEAD_END.fullmatch(doc.text, names[-1].end, colon) else []


def _subjects(doc: _Doc, hit: _Hit, linker: Linker, sentence: tuple[int, int],
              clause: tuple[int, int]) -> list[_Subject]:
    spec, family = hit.rule.subject, hit.rule.family
    if spec.mode == "fixed":
        return [_Subject(spec.name, spec.ticker, _kind_of(linker, spec.ticker), None, None)]
    if spec.mode == "group" and _took_part(hit.match, spec.group):
        unlinked = spec.unlinked
        # the entity inside the group (伯克希尔减持[比亚迪H股]); without one, fall back to nearest
        if spec.each and _LIST_JOINERS.search(hit.match.group(spec.group)):
            # 月之暗面、DeepSeek等纷纷发布: one subject per name of the group's list
            listed = _group_list(doc, hit.match.span(spec.group), spec, family)
            if listed:
                return listed
            # every part of the list is generic (科技公司与用户): the whole group is no name either
            unlinked = False
        linked = [m for m in doc.mentions_in(*hit.match.span(spec.group)) if _eligible(m, spec, family)]
        if linked:
            return [_from_mention(doc, linked[0])]
        if unlinked:
            named = _unlinked_name(doc, hit.match, spec.group)
            if named:
                return [named]
        if not spec.fallback:
            return [_Subject(None, None, None, None, None)]
    anchor_s, anchor_e = hit.start, hit.end

    product_price = hit.rule.type in _PRICE_MOVES

    def candidates(start: int, end: int) -> list[Mention]:
        return [m for m in doc.mentions_in(start, end) if _eligible(m, spec, family)
                and not (m.start < anchor_e and anchor_s < m.end) and not _not_the_subject(doc, m, clause)
                and not (product_price and _product_price(doc, m, clause))]

    if spec.each or spec.scope == "clause":
        in_clause = candidates(*clause)
        in_sentence = None
    else:  # the sentence's candidates hold the clause's (a clause lies inside its sentence), in order
        in_sentence = candidates(*sentence)
        in_clause = [m for m in in_sentence if clause[0] <= m.start and m.end <= clause[1]]
    if spec.each:
        chain = _list_before(doc, in_clause, anchor_s) or _header_list(doc, clause, sentence, candidates)
        if chain:
            return [_from_mention(doc, m) for m in chain]
    pools = [in_clause]
    if spec.scope != "clause":
        pools.append(candidates(*sentence) if in_sentence is None else in_sentence)
    for pool in pools:
        # a later clause of a passive (英特尔被英伟达收购，该股/股价大涨) is about its topic, not the agent;
        # in the trigger's own clause the agent is the actor (英特尔将由英伟达收购)
        weak = _WEAK_BEFORE if pool is in_clause else _PASSIVE_WEAK_BEFORE
        before = _nearest_before(doc, pool, anchor_s, weak)
        if before and pool is in_clause and len(pools) > 1 and _is_weak(doc, before, weak) and any(
                m.end <= clause[0] and not _is_weak(doc, m, weak) for m in pools[1]):
            # 恒大汽车宣布，其股份将于…在港交所停牌: the clause names only the place; the earlier clause's
            # name is the subject (it gave 港交所, 0388.HK)
            continue
        if before:
            return [_from_mention(doc, before)]
        if pool is in_clause and len(pools) > 1 and (
                _unlinked_mover(doc, clause[0], anchor_s,
                                lambda weak=weak: _nearest_before(doc, pools[1], anchor_s, weak))
                or (spec.tickers and _unlinked_bank(doc, clause[0], anchor_s))):
            # 印度股市外资流出，印度卢比大跌2%: the move is the rupee's, which has no instrument; it is not
            # the earlier clause's market. 美联储按兵不动后，土耳其央行意外加息: the hike is the Turkish
            # bank's, which has no instrument; it is not the Fed's (nor any bank's named elsewhere)
            return [_Subject(None, None, None, None, None)]
        # headlines put the subject anywhere (盘前却跌7%，微软的预期差在哪); body text before the verb
        may_follow = spec.after or doc.in_title(anchor_s)
        after = [m for m in pool if m.start >= anchor_e] if may_follow else []
        if after:
            return [_from_mention(doc, after[0])]
    if spec.scope != "article" and not _ANAPHOR.search(doc.text, clause[0], anchor_s):
        return [_Subject(None, None, None, None, None)]
    if _COMPANY_ANAPHOR.match(doc.text, clause[0], anchor_s):
        # 公司宣布拟收购…: "the company" is the one the text last named, in this paragraph or before
        earlier = next((m for m in reversed(doc.mentions_in(0, sentence[0])) if _eligible(m, spec, family)
                        and not doc.in_title(m.start) and m.confidence >= 0.5), None)  # not an ambiguous word
        if earlier is not None:
            return [_from_mention(doc, earlier)]
    stock = _STOCK_ANAPHOR.match(doc.text, clause[0], anchor_s) is not None
    if stock:
        # 英伟达发布新款芯片。该股盘后大涨5%: "the stock" is the company last named in the paragraph
        named = _last_company(doc, spec, family, doc.paragraph_starts[doc.paragraph_of(sentence[0])],
                              sentence[0])
        if named is not None:
            return [_from_mention(doc, named)]
    if family not in SUBJECT_OPTIONAL and _names_a_group(doc, clause, anchor_s):
        # 主要科技企业的资本支出仍具上调空间, NBIM减持科技股: the statement is about a group, which has
        # no instrument; it borrows no company from the title or an earlier sentence
        return [_Subject(None, None, None, None, None)]
    if spec.title and not doc.in_title(anchor_s) and doc.title_len:
        in_title = [m for m in doc.mentions_in(0, doc.title_len) if _eligible(m, spec, family)
                    and (not stock or _a_company(m))]  # 该股 is no index (美股收盘：道指涨1%)
        if in_title:
            # the title's own statement of this type names whose it is in its clause (联营公司SQM业绩
            # 回暖…，天齐锂业2025年净利润预计同比扭亏: 天齐锂业's turnaround, not SQM's), else the title's
            # first name (台积电获英伟达大单，股价大涨: 英伟达 is another clause's object)
            at = doc.title_hits.get(hit.rule.type)
            before = []
            if at is not None:
                opening = doc.clause_of(at, doc.sentences[doc.sentence_of(at)])[0]
                before = [m for m in in_title if opening <= m.start and m.end <= at]
            return [_from_mention(doc, (before or in_title)[-1 if before else 0], guessed=True)]
    if spec.tickers:
        # an allow-listed actor (a central bank) named anywhere in the article is the one meant:
        # "投票降息" in a piece about the FOMC is about 美联储 even when the sentence omits it
        anywhere = next((m for m in doc.mentions if _eligible(m, spec, family)), None)
        if anywhere is not None:
            return [_from_mention(doc, anywhere)]
    if spec.name or spec.ticker:
        return [_Subject(spec.name, spec.ticker, _kind_of(linker, spec.ticker), None, None)]
    return [_Subject(None, None, None, None, None)]


# Currencies the instrument table has no line for (the others are linked: 美元, 日元, 人民币, 港元 …).
# Named before a move in its clause, one of them is that move's subject: the nearest-subject search
# does not reach into an earlier clause for another instrument. Not after a number: 600亿卢比 is an amount.
_UNLINKED_CURRENCY = regex.compile(
    r"(?<![0-9.万亿千百十几数多余])(?:卢比|比索|里拉|卢布|雷亚尔|兰特|林吉特|泰铢|印尼盾|越南盾|克朗|"
    r"兹罗提|第纳尔|里亚尔|迪拉姆|谢克尔|坚戈|新加坡元|新西兰元|纽元|新台币)"
    # …or a futures contract the table has no instrument for (宁德时代枧下窝锂矿停产，碳酸锂期货应声涨停: the
    # limit-up is the contract's, not the company's of the earlier clause)
    r"|\p{Han}{1,5}(?:期货|主力合约|期指)")
# …or a whole market opening the clause (英伟达发布财报，港股大涨: not Nvidia's move; not 港股通, the Stock
# Connect), unless the earlier company is listed there: once of two (百度港股收涨3%，美股盘前涨4%: Baidu's
# US listing, _listing_named), or only there with a session named (拼多多…，美股盘前跌超10%). Only at the
# clause's start: a market named as the yardstick (逆大盘大涨5%, 跑赢大盘, 在两市普跌中逆势大涨) leaves the
# move the company's, and 次日股价, 平台股价 hold no 日股/台股.
_MARKET_MOVER = regex.compile(
    r"\s*(?:隔夜|今日|今天|周[一二三四五六日]|早盘|午盘|午后|尾盘|盘中|盘前|盘后|随后|同日|当日|此后"
    r"|受此影响|受此消息影响)?[，,]?\s*(?P<market>港股(?!通)|美股|A股|两市|沪深两市|大盘|三大股指|欧股|日股|韩股|台股)")


def _unlinked_mover(doc: _Doc, start: int, anchor: int, earlier_of: Callable[[], Mention | None]) -> bool:
    """Something without an instrument moves in the clause (_UNLINKED_CURRENCY), and no word after it
    turns the clause back to the stock (碳酸锂期货大涨带动股价涨停: 股价 is the company's); a market word
    that names a listing of the subject an earlier clause offers (``earlier_of``, found only for a market
    word) is that listing."""
    found = _UNLINKED_CURRENCY.search(doc.text, start, anchor)
    if found is not None:
        return not _ANAPHOR.search(doc.text, found.end(), anchor)
    market = _MARKET_MOVER.match(doc.text, start, anchor)
    if market is None or _ANAPHOR.search(doc.text, market.end(), anchor):
        return False
    earlier = earlier_of()
    if earlier is None:
        return True
    listed = (earlier.instrument.ticker, *earlier.instrument.alt_tickers)
    if not any(is_it(t) for pattern, is_it in _LISTINGS if pattern.fullmatch(market.group("market"))
               for t in listed):
        return True  # not listed there: the market's move
    # listed there and elsewhere, the word names that listing; listed there only, a session after it does
    # (拼多多…，美股盘前跌超10%), while 英伟达发布财报，隔夜美股大涨 is the market's move
    return not (earlier.instrument.alt_tickers or _SESSION.match(doc.text, market.end(), anchor))


_SESSION = regex.compile(r"盘前|盘后|盘中|早盘|午盘|尾盘|夜盘")

# A central bank's generic name that the linker left unlinked (土耳其央行, 新西兰联储, 南非储备银行,
# 各国央行: another country's bank, or many): an allow-listed actor's rule takes no other bank for it.
_BANK_WORD = regex.compile(r"央行|联储|储备银行|中央银行")


def _unlinked_bank(doc: _Doc, start: int, end: int) -> bool:
    for m in _BANK_WORD.finditer(doc.text, start, end):
        i = bisect.bisect_right(doc.mention_starts, m.start()) - 1
        if i < 0 or doc.mentions[i].end < m.end():
            return True
    return False


# A generic group of companies or stocks (主要科技企业, 科技股, 科技巨头纷纷, 银行股, 多家云服务厂商) as
# what a clause is about: no company of the title or of an earlier sentence is meant. Sector stocks (X股, not
# X股价/股份/股东 …) are, unless a determiner picks one (该科技股, 这只芯片股, 该美国科技股: the company
# meant); sector giants and firms only with a word that makes them many: a quantifier before (主要, 多家,
# 各大, 大型 …) or a plural word after (们, 纷纷, 普遍 …). A bare 芯片巨头, 互联网巨头, 美国科技巨头 or
# 上市公司 is the usual way to name the article's company again (芯片巨头宣布裁员15% in a piece on
# 英特尔), and 宇树科技公司 is a name. Every branch starts with a literal or a lookaround.
_GROUP_SECTORS = (r"(?:科技|高科技|互联网|芯片|半导体|银行|券商|保险|地产|房地产|内房|汽车|新能源|能源|石油|"
                  r"油气|矿业|白酒|消费|医药|光伏|AI|人工智能|软件|云服务|云计算|中概|军工|航空|航运|电力|钢铁|"
                  r"煤炭|有色|稀土|锂电|电池|电动车|电商|游戏|传媒|零售|金融|成长|价值|蓝筹|权重|大型|小盘|大盘)")
_GROUP_PLACES = r"(?:全球|美国|美股|港股|A股|中国|韩国|日本|欧洲|海外|欧美|国内|上市)"
_GROUP_PLURAL = r"(?=们|纷纷|普遍|均|都|集体|相继|陆续|各自)"
# a determiner that picks one stock (该科技股, 此芯片股); 此 and 该 ending another word do not
# (因此科技股大跌, 由此, 为此, 据此, 如此 …; 应该): the sector's stocks are meant
_ONE_STOCK = r"(?:(?<![因由为据如对借从至就彼故在特])此|(?<!应)该|这只|这支|该只|那只)"
_GENERIC_GROUP = regex.compile(
    r"(?<!(?:" + _ONE_STOCK + r"|这家|这一|这个)" + _GROUP_PLACES + r"?)" + _GROUP_SECTORS
    + r"类?股(?![价份东票本权息利市指民])"
    r"|(?<!该|此|其|这家|这一|这个)(?:主要|大型|头部|各大|多家|部分|一些|其他|其它|众多|多数|几大|这些|主流|"
    r"同业|同行|相关)" + _GROUP_SECTORS + r"?(?:企业|公司|厂商|大厂|车企|巨头|龙头)"
    r"|(?<=" + _GROUP_SECTORS + r"|" + _GROUP_PLACES + r")(?:企业|公司|厂商|大厂|车企|巨头|龙头)"
    + _GROUP_PLURAL)


def _names_a_group(doc: _Doc, clause: tuple[int, int], anchor: int) -> bool:
    """The trigger's clause is about a generic group (``_GENERIC_GROUP``), not about a company it
    refers back to (该公司, 股价 before the trigger)."""
    if _ANAPHOR.search(doc.text, clause[0], anchor):
        return False
    return _GENERIC_GROUP.search(doc.text, clause[0], clause[1]) is not None


# A clause that refers back to the article's company (该公司股价盘后一度涨逾11%) may take the
# subject from the title even when the rule's scope is narrower. A sector stock a determiner picks
# (该科技股, 这只芯片股, 该美国科技股: the exceptions of _GENERIC_GROUP) is that company as 该股 is:
# 该科技股盘后大涨10% gave no event, its clause named neither the company nor 该股.
_ANAPHOR = regex.compile(r"股价|该股|该公司|公司股价|其股价|个股|市值"
                         # its listing opening the clause with a session or a move (…，美股盘前跌超10%)
                         r"|(?<=[，,]\s?)(?:美股|港股|A股|H股|ADR)(?=盘前|盘后|盘中|早盘|午盘|尾盘|收盘|开盘|一度|"
                         r"股价|大涨|大跌|暴涨|暴跌|跳水|飙升|收涨|收跌|高开|低开|涨|跌)"
                         r"|" + _ONE_STOCK + _GROUP_PLACES + "?" + _GROUP_SECTORS
                         + r"类?股(?![份东票本权息利市指民])")

# "The company" opening a clause refers back to the company the text last named (同时，公司宣布拟
# 收购Allied Gold); inside a noun phrase (初创公司月之暗面, 公司内部) it does not.
_COMPANY_ANAPHOR = regex.compile(r"\s*(?:此外|同时|另外|而|但|并|随后)?\s*"
                                 r"(?:该|本|其)?(?:公司|集团)(?!内部|层面)")

# "The stock" opening a clause (该股盘后大涨5%, 该科技股, 这只芯片股, 其股价, 该股票) refers back to the
# company named last in an earlier sentence of its paragraph. Not 该股东/该股份/该股权 (the shareholder,
# the shares, the stake), nor a bare 股价 or 个股 (any stock's).
_STOCK_ANAPHOR = regex.compile(r"\s*(?:此外|同时|另外|而|但|并|随后|其后|之后|此后)?\s*"
                               r"(?:该股(?![东份权])|该只?股票|其股价|" + _ONE_STOCK + _GROUP_PLACES + "?"
                               + _GROUP_SECTORS + r"类?股(?![份东票本权息利市指民]))")


def _last_company(doc: _Doc, spec: SubjectSpec, family: str, start: int, end: int) -> Mention | None:
    """The company (a listed equity) named last in ``start:end`` of the body: not a research house
    (高盛, 大摩 speak or publish; they are not the stock the text follows), not an index, currency or
    commodity, not an ambiguous word."""
    named = [m for m in doc.mentions_in(max(start, doc.title_len), end) if _a_company(m)
             and m.confidence >= 0.5 and _eligible(m, spec, family)]
    # a partner or place after 与/和/在/向 (英伟达与微软达成合作) yields to the company before it, and
    # so does the agent of a passive (``_PASSIVE_WEAK_BEFORE``)
    return _nearest_before(doc, named, end, _PASSIVE_WEAK_BEFORE)


def _a_company(m: Mention) -> bool:
    """A listed company that 该股 can be: an equity, and no research house (高盛, 大摩)."""
    return m.instrument.kind == "equity" and not m.instrument.speaker and m.role_hint is None


# What a name captured by a pattern may not be: pronouns and generic heads (公司, 该公司, 其), and the
# adverbs of a group acting together (科技公司纷纷发布新品 once gave the subject 纷纷).
_NOT_A_NAME = regex.compile(r"^(?:公司|该|其|此|本|这|那|他们|我们|对方|双方|多家|部分|一家|旗下"
                            r"|纷纷|相继|陆续|先后|集体)")


def _unlinked_name(doc: _Doc, match: Any, group: str | None) -> _Subject | None:
    """The group's text as an unlinked subject (xAI, 九识智能): trimmed, and not a pronoun."""
    return _unlinked_span(doc, *match.span(group))


# What joins the names of a group's list: 、 always; 和/与/及 (月之暗面和DeepSeek) only where
# ``_joins_names`` says so, since they are also inside names and words (和黄医药, 参与, 涉及).
_LIST_JOINERS = regex.compile(r"、|和|与|及")
# A part joined by 和/与/及 that is no name but a generic role or group (英伟达和合作伙伴, 月之暗面与用户):
# no subject of its own; the named part keeps its event
_GENERIC_PART = regex.compile(
    r"\s*(?:其|其他|其它|它|它们|他们|她们|自家|旗下|各|多家|部分|主要|海外|国内|全球|相关|当地)?的?"
    r"(?:" + _GROUP_PLACES + r")?(?:" + _GROUP_SECTORS + r")?"  # 科技公司, 美国科技公司: a sector, no name
    r"(?:合作伙伴|伙伴|合作方|客户|用户|团队|竞争对手|对手|同行|供应商|子公司|公司|集团|企业|厂商|机构|政府|"
    r"部门|高校|大学|实验室|开发者|员工|股东|投资者|研究人员|科研人员)们?(?:共同|一起|联合|携手)?\s*")


# A company word after a name joined by 和/与/及 (宇树科技公司与智元机器人): not part of the name
_COMPANY_WORDS = ("公司", "集团")


# The adverb of a joint act that ends a list joined by 和/与 (月之暗面与DeepSeek联合发布)
_TOGETHER = regex.compile(r"(?:联合|共同|一起|携手|合作)$")


def _joins_names(doc: _Doc, i: int, left_start: int, ge: int) -> bool:
    """和/与/及 at ``i`` joins two parts of a group: it is not inside a linked name, and each side
    (from the last cut, to the next joiner) has two or more characters (和黄医药, 参与, 涉及: no cut)."""
    if any(m.start <= i < m.end for m in doc.mentions_in(left_start, ge)):
        return False
    # a joiner right after this one starts the next name (谷歌与及时雨科技): no side is 1 character
    right_end = next((j for j in range(i + 2, ge) if _LIST_JOINERS.match(doc.text, j)), ge)
    return all(len(doc.text[a:b].strip()) >= 2 for a, b in ((left_start, i), (i + 1, right_end)))


def _group_list(doc: _Doc, span: tuple[int, int], spec: SubjectSpec, family: str) -> list[_Subject]:
    """``each`` with ``from: group``: the group's names split at 、 (月之暗面、DeepSeek), and at 和/与/及
    where they join two parts (``_joins_names``), each its linked entity, else (``unlinked``) its text;
    a part that is neither (a pronoun), or an unlinked generic role joined by 和/与/及 (英伟达和合作伙伴,
    月之暗面与用户), is left out."""
    gs, ge = span
    cuts: list[int] = []
    for i in range(gs, ge):
        c = doc.text[i]
        if c == "、" or (c in "和与及" and _joins_names(doc, i, cuts[-1] + 1 if cuts else gs, ge)):
            cuts.append(i)
    out = []
    start = gs
    for k, end in enumerate([*cuts, ge]):
        linked = [m for m in doc.mentions_in(start, end) if _eligible(m, spec, family)]
        joined = any(0 <= x < len(cuts) and doc.text[cuts[x]] != "、" for x in (k - 1, k))
        if linked:
            out.append(_from_mention(doc, linked[0]))
        elif spec.unlinked and not (joined and _GENERIC_PART.fullmatch(doc.text, start, end)):
            # 月之暗面与DeepSeek联合发布: the adverb before the trigger is no part of the last name
            tail = _TOGETHER.search(doc.text, start, end) if joined and end == ge else None
            stop = tail.start() if tail and tail.start() - start >= 2 else end
            # 宇树科技公司与智元机器人: the company word after a name is no part of it
            if joined and doc.text.endswith(_COMPANY_WORDS, start, stop) and stop - start >= 4:
                stop -= 2
            named = _unlinked_span(doc, start, stop)
            if named is not None:
                out.append(named)
        start = end + 1
    return out


# A country, region or government (月之暗面与中国合作发布新模型, 英伟达与美国政府): an unlinked name stands
# for an unlisted company (xAI, 月之暗面), never for one of these; it launches, sells or is bought nothing.
_PLACE_OR_STATE = regex.compile(
    r"(?:中国|美国|日本|韩国|朝鲜|英国|法国|德国|意大利|西班牙|荷兰|瑞士|瑞典|俄罗斯|乌克兰|印度|印尼|越南|泰国|"
    r"马来西亚|新加坡|菲律宾|澳大利亚|新西兰|加拿大|墨西哥|巴西|阿根廷|智利|南非|埃及|土耳其|以色列|伊朗|沙特|"
    r"阿联酋|卡塔尔|欧盟|欧洲|亚洲|非洲|中东|北美|拉美|东南亚|全球|海外|国内|内地|大陆|台湾|香港|澳门|北京|上海|"
    r"深圳|广州|杭州|各国|各地|地方|中央|联邦|国家|我国)?(?:政府|官方|当局|国务院|白宫|监管机构|监管部门)?"
    r"|\p{Han}{1,6}(?:政府|当局)")


# A person's title (月之暗面创始人杨植麟, 创始人李彦宏): the person is no company; the name before the
# title, if any, is the person's company and the subject. A bare personal name (百度和李彦宏) has no mark
# that tells it from an unlisted company's name (麦肯锡, 王小卤, 杨国福): it stays.
_PERSON_TITLE = regex.compile(r"的?(?:联合创始人|创始人|创办人|董事长|副总裁|总裁|首席执行官|首席技术官|"
                              r"首席科学家|首席财务官|总经理|负责人|掌门人|掌舵人|CEO|CTO|CFO|COO)")


def _unlinked_span(doc: _Doc, gs: int, ge: int) -> _Subject | None:
    text = doc.raw[gs:ge]
    stripped = text.strip(" \t“”\"'‘’「」《》()（）")
    title = _PERSON_TITLE.search(stripped)
    if title:
        stripped = stripped[:title.start()]
        if len(stripped) < 2:
            return None
    if not stripped or _NOT_A_NAME.match(stripped) or _PLACE_OR_STATE.fullmatch(stripped):
        return None
    return _Subject(stripped, None, None, None, gs + text.index(stripped))


def _kind_of(linker: Linker, ticker: str | None) -> str | None:
    if not ticker:
        return None
    for inst in linker.lookup(ticker):
        if inst.ticker == ticker:
            return inst.kind
    return None


def _direction(hit: _Hit) -> int:
    spec = hit.rule.direction
    if spec.group and _took_part(hit.match, spec.group):
        text = hit.match.group(spec.group)
        for key, value in spec.mapping:
            if key in text:
                return value
    return spec.value


# 将 right before a trigger that starts with its object (将|利率下调) is the disposal construction too.
_DISPOSAL_OBJECT = regex.compile(r"利率|政策利率|基准利率|目标价|评级|关税|存款准备金率|准备金率|LPR")
# …and so is 将 with a time that dates its object, before a revision to a level (台积电将今年资本支出
# 上调至420亿美元: 今年 dates the spending, not the act; 将于今年上调至 stays a plan)
_DISPOSAL_DATED = regex.compile(r"将(?:今年|明年|年内|全年|本财年|[0-9]{4}年"
                                r"|[0-9一二三四五六七八九十]{1,2}月)(?:全年|度)?的?(?:(?!于|在|会|要|将)[^，。；\d]){2,10}$")
_REVISED_TO = regex.compile(r"(?:上调|下调|调高|调低|调升|调降|上修|下修|提高|降低|提升|削减)(?:至|到)")
# 将 right after the subject announces or decides (宣布将停产, 公告称将, 确认将, 决定将) is what it has
# decided, a fact as data/gold/README.md records it (特斯拉"宣布将停产 Model S/X", "宣布将建设"), not a
# forecast; the cues after it keep theirs (宣布将考虑回购, 宣布计划裁员 stay expected)
_ANNOUNCED_WILL = regex.compile(r"(?<=(?:宣布|公告称?|确认|决定)[，,]?)将")
# …and so is the 将 of the clause the announcement introduces (碧桂园在港交所公告，公司股份将于今日上午9时起
# 暂停买卖)
_ANNOUNCING_CLAUSE = regex.compile(r"(?:宣布|公告称?|确认|决定)[，,：:]$")
_ANNOUNCED_CLAUSE_WILL = regex.compile(r"^([^，。；将]{0,12})将")
# a broker's price forecast as the object of its revision (高盛将金价预测上调至5000美元) is the
# number revised, not a forecast cue: the revision is done
_FORECAST_OBJECT = regex.compile(r"(?<=价|价格|均价|点位)预测$")


# A reason between 因/由于 and the trigger has its own cues (因筹划重大资产重组事项停牌: 筹划 is the reason's;
# 因未能按期披露年报停牌: 未 too); only the few characters right before the trigger are the trigger's own
# (因通胀顽固不会降息), or all that follows a 而 closing the reason (因需求疲软而计划于明年裁员).
# 因此, 因素, 原因, 基因 are other words.
_REASON = regex.compile(r"因为|由于|(?<![原基起诱])因(?![此素而为])")
_OWN_CUE_SPAN = 3
# a time between the trigger's own cue and the trigger is the trigger's too (因芯片短缺计划下月暂停生产,
# 因经济放缓有望在下月降息, 因原材料涨价拟于下月起扩产: 计划, 有望, 拟 are the trigger's)
_TIME_TAIL = regex.compile(
    r"(?:于|在|从|自)?(?:下个?月|下周|下季度|下半年|明年|今年|年内|年底|年末|本月|本周|本季度|近期|短期内"
    r"|[0-9]{1,2}月份?|[一二三四五六七八九十]{1,2}月份?|[0-9]{4}年)(?:底|初|中|末)?(?:起|内|前)?$")


def _without_reason(before: str) -> str:
    if "因" not in before and "由于" not in before:
        return before  # every _REASON match has one of them; most clauses have neither
    last = next(iter(reversed(list(_REASON.finditer(before)))), None)
    if last is None:
        return before
    reason = before[last.end():]
    closed = reason.rfind("而")
    if closed >= 0:
        return before[:last.start()] + reason[closed + 1:]
    tail = _TIME_TAIL.search(reason)
    own = _OWN_CUE_SPAN + (len(tail.group()) if tail else 0)
    if len(reason) <= own:
        return before
    return before[:last.start()] + reason[-own:]


def _denied(doc: _Doc, hit: _Hit, sentence: tuple[int, int]) -> bool:
    """The report of the event is denied later in its sentence (…，公司回应称消息不实), or 辟谣 precedes
    it."""
    if doc.text.find("辟谣", sentence[0], hit.start) >= 0:
        return True
    denial = _DENIED_AFTER.search(doc.text, hit.end, sentence[1])
    if denial is None:
        return False
    return (denial.start() < doc.clause_of(hit.start, sentence)[1]
            or bool(_REPORTED.search(doc.text, sentence[0], hit.start)))


def _modality(doc: _Doc, hit: _Hit, clause: tuple[int, int],
              sentence: tuple[int, int] | None = None) -> str:
    before = _without_reason(doc.text[clause[0]:hit.start])
    if "预" in before or "料" in before:  # each _RESOLVED_EXPECTATION phrase has one of them
        before = _RESOLVED_EXPECTATION.sub("", before)
    if sentence is not None and _denied(doc, hit, sentence):
        return "negated"
    if before.endswith("将") and _DISPOSAL_OBJECT.match(doc.text, hit.start):
        before = before[:-1]
    elif "将" in before:
        if _REVISED_TO.match(doc.text, hit.start) and (dated := _DISPOSAL_DATED.search(before)):
            before = before[:dated.start()] + before[dated.start() + 1:]
        before = _ANNOUNCED_WILL.sub("", before)
        if (sentence is not None and clause[0] > sentence[0]
                and _ANNOUNCING_CLAUSE.search(doc.text, sentence[0], clause[0])):
            before = _ANNOUNCED_CLAUSE_WILL.sub(r"\1", before)
    if before.endswith("预测") and hit.rule.family == "analyst":
        before = _FORECAST_OBJECT.sub("", before)
    if "不" in before and _DOUBLE_NEGATIVE.search(before):  # 不排除|不能排除|并非不
        return "fact" if hit.rule.modality == "fact" else "expected"
    if (_NEGATED.search(_negation_scope(before)) or _TERMINATED.search(before)
            or _HALTED_AFTER.match(doc.text, hit.end) or _NIL_ODDS_AFTER.match(doc.text, hit.end)):
        return "negated"
    if hit.rule.modality != "fact" and (_EXPECTED.search(before) or _EXPECTED_AFTER.match(doc.text, hit.end)
                                        or _ADVOCATED_AFTER.match(doc.text, hit.end)
                                        or _LIKELY_ODDS_AFTER.match(doc.text, hit.end)):
        return "expected"
    return "fact"


def _hypothetical(doc: _Doc, hit: _Hit, sentence: tuple[int, int], clause: tuple[int, int]) -> bool:
    """A condition (若/如果/一旦 …) before the trigger in its sentence, a worry governing its clause, or
    a bet on it that weakens (削弱市场对…加息的押注, 降息预期降温)."""
    if _CONDITIONAL.search(doc.text, sentence[0], hit.start):
        return True
    if doc.text.find("所谓", sentence[0], sentence[1]) >= 0 and _DEFINITION.search(doc.text, *sentence):
        return True
    if (_DEFINED_AFTER.match(doc.text, hit.end) or _WHAT_IS.search(doc.text, clause[0], hit.start)
            or ((opening := _DEFINITION_OPENING.match(doc.text, sentence[0], sentence[1]))
                and opening.group("term").endswith(hit.rule.triggers))):
        return True
    # a bet or hope that weakens names what it is 对 (on): no 对 in the clause, no _DAMPENED search
    dampened = (_DAMPENED.search(doc.text, clause[0], clause[1])
                if doc.text.find("对", clause[0], clause[1]) >= 0 else None)
    if dampened and dampened.start() < hit.start and hit.end <= dampened.end():
        return True
    if _DAMPENED_AFTER.match(doc.text, hit.end):
        return True
    if _QUESTION_BEFORE.search(doc.text, clause[0], hit.start):
        return True
    # a step names 每: no 每 in the clause, no _PER_STEP search
    step = (_PER_STEP.search(doc.text, clause[0], clause[1])
            if doc.text.find("每", clause[0], clause[1]) >= 0 else None)
    if step and not (step.group().startswith(("每次", "每一次", "每轮", "每一轮"))
                     and _EACH_OF_MOVES.search(doc.text, sentence[0], step.start())):
        return True
    if _recalled(doc, hit, sentence, clause) or _topic_question(doc, hit, sentence, clause):
        return True
    if hit.rule.family == "monetary" and _made_so_far(doc, hit, sentence, clause):
        return True
    # a 吗 question ends within 13 characters of the trigger (_QUESTION_AFTER): most have no 吗 there
    asked = (_QUESTION_AFTER.match(doc.text, hit.end) if doc.text.find("吗", hit.end, hit.end + 13) >= 0
             else None)
    if asked and not _PRESUPPOSED.search(doc.text, hit.end, asked.end()):
        return True
    if (clause[1] == sentence[1] and doc.text[sentence[1] - 1:sentence[1]] in ("？", "?")
            and not _WH_QUESTION.search(doc.text, sentence[0], sentence[1])):
        return True
    return bool(_WORRY.search(doc.text, clause[0], hit.start) or _WORRY_AFTER.match(doc.text, hit.end))


def _recalled(doc: _Doc, hit: _Hit, sentence: tuple[int, int], clause: tuple[int, int]) -> bool:
    """曾 before the trigger in its clause, or in the clause of the verb of saying that introduces it
    (英特尔曾于2023年宣布，将在德国建厂)."""
    if doc.text.find("曾", sentence[0], hit.start) < 0:
        return False  # both searches below look for 曾 inside sentence[0]:hit.start
    if _ONCE.search(doc.text, clause[0], hit.start):
        return True
    if clause[0] > sentence[0] and _SAID.search(doc.text, sentence[0], clause[0]):
        said = doc.clause_of(clause[0] - 1, sentence)
        return bool(_ONCE.search(doc.text, said[0], said[1]))
    return False


def _topic_question(doc: _Doc, hit: _Hit, sentence: tuple[int, int], clause: tuple[int, int]) -> bool:
    """The trigger is the topic of a question its clause ends (降准降息对银行股的影响究竟有多大？)."""
    if clause[1] != sentence[1] or doc.text[sentence[1] - 1:sentence[1]] not in ("？", "?"):
        return False
    asked = _WH_AFTER.search(doc.text, hit.end, clause[1])
    if asked is None or _PRESUPPOSED.search(doc.text, hit.end, clause[1]):
        return False
    return not _SEQUEL.search(doc.text, clause[0], asked.start())


def _intraday_peak(doc: _Doc, hit: _Hit, clause: tuple[int, int]) -> bool:
    """The trigger is an intraday peak: 一度/最高/最多 just before it in its clause (盘中一度大涨); not
    最高的/最多的, which rank the instrument among others (涨幅最高的英伟达大涨8%)."""
    text, lo = doc.text, max(clause[0], hit.start - _INTRADAY_WINDOW)
    for cue in _INTRADAY_PEAK:
        i = text.find(cue, lo, hit.start)
        while i != -1:
            if cue == "一度" or text[i + len(cue):i + len(cue) + 1] != "的":
                return True
            i = text.find(cue, i + 1, hit.start)
    return False


def _closed(doc: _Doc, hit: _Hit, sentence: tuple[int, int], clause: tuple[int, int],
            subject: _Subject) -> bool:
    """The sentence states how the subject closed, after the peak (盘中一度涨5%，收跌1%) or in an
    earlier clause after the subject's name (贵州茅台收跌1%，盘中一度涨5%). A close with another
    instrument named between it and the peak is that one's (五粮液盘中一度涨5%，贵州茅台收跌1%)."""
    def own(start: int, end: int) -> bool:
        return not any(m.instrument.ticker != subject.ticker or (subject.ticker is None
                                                                  and doc.raw[m.start:m.end] != subject.text)
                       for m in doc.mentions_in(start, end))

    for after in _CLOSE.finditer(doc.text, hit.end, sentence[1]):
        if not own(hit.end, after.start()):
            break  # another instrument's close, and so is any later one
        if after[0] not in _RETREATS or _ITS_OWN_RETREAT.fullmatch(
                doc.text, max(hit.end, doc.clause_of(after.start(), sentence)[0]), after.start()):
            return True
    anchor = sentence[0]
    if subject.start is not None and sentence[0] <= subject.start:
        if subject.start >= clause[0]:
            return False  # named in the peak's own clause: an earlier close is another's
        anchor = subject.start + len(subject.text or "")
    before = _CLOSE.search(doc.text, anchor, clause[0])
    return before is not None and own(before.end(), hit.start)


def _magnitude_candidates(doc: _Doc, hit: _Hit, si: int, clause: tuple[int, int]) -> list[_Mag]:
    spec = hit.rule.magnitude
    if spec is None:
        return []
    pool = [m for m in doc.magnitudes(si) if _units_match(m, spec.units)]
    if spec.group and _took_part(hit.match, spec.group):
        gs, ge = hit.match.span(spec.group)
        return [m for m in pool if m.start >= gs and m.end <= ge]
    region = (doc.sentences[si][0], doc.sentences[si][1]) if spec.where == "sentence" else clause
    limit = max(region[1], hit.match.end() if hit.match is not None else region[1])
    named = pool  # a figure the next clause names (，税率为25%) is what it says, level words or not
    if spec.as_unit in ("bp", "pct"):
        pool = [m for m in pool if not _a_rate_level(doc, m)]
    candidates = [m for m in pool if hit.start <= m.start < limit]
    if hit.rule.type in _PRICE_MOVES and candidates:
        candidates = _move_sizes(doc, hit, candidates, clause)
    if not candidates and spec.where in ("around", "sentence"):
        before = [m for m in pool if region[0] <= m.start and m.end <= hit.start]
        candidates = before[-1:]
    if not candidates and spec.where != "sentence":
        candidates = _next_clause_amount(doc, hit, named, si, clause)
    return candidates


# A clause that opens with what the amount is (，作价约8亿欧元; ，合计耗资约120亿元; ，税率为43.5%;
# ，规模约5.5万亿日元; ，涉及约2.4万名员工; ，每次25个基点)
# gives the size of the event of the clause before it.
_AMOUNT_OPENING = regex.compile(r"\s*(?:交易|合同|订单|中标|成交)?总?"
                                r"(?:作价|对价|价格|金额|价|耗资|涉资|斥资|税率)"
                                r"|\s*(?:合计|总计|共计|累计)(?:耗资|斥资|涉资|金额)?"
                                r"|\s*(?:规模|涉及|波及)"
                                # a count of moves, then the size of each (再降息两次，每次25个基点)
                                r"|\s*(?:每次|每一次|每轮|每一轮)(?:降息|加息|降准|下调|上调|减息)?(?:幅度)?"
                                r"(?:均为|均|为|约)?")


# …and for a result, the profit it is (扭亏为盈，归母净利润约12亿元至15亿元)
_PROFIT_OPENING = regex.compile(r"\s*(?:实现)?(?:归母|归属于上市公司股东的|归属于母公司股东的)?"
                                r"(?:净利润|净利|盈利)")


def _next_clause_amount(doc: _Doc, hit: _Hit, pool: list[_Mag], si: int,
                        clause: tuple[int, int]) -> list[_Mag]:
    end = doc.sentences[si][1]
    if clause[1] >= end - 1 or hit.rule.type in _PRICE_MOVES:
        return []  # a price move's size is its own clause's (大涨，成交金额约100亿元: the turnover)
    opening = _AMOUNT_OPENING.match(doc.text, clause[1] + 1, end)
    if opening is None and hit.rule.family == "earnings":
        opening = _PROFIT_OPENING.match(doc.text, clause[1] + 1, end)
    if opening is None or (opening.group().endswith("税率") and not _raises(hit)):
        return []  # after a cut the tax rate named is the new level, not the size
    if (_LEVELS_OPENING.match(doc.text, opening.end(), end)
            or _LEVELS_OPENING.match(doc.text, clause[1] + 1, end)):
        return []  # ，税率由10%升至15%: two levels, _level_change's
    following = doc.clause_of(clause[1] + 1, doc.sentences[si])
    found = [m for m in pool if opening.end() <= m.start and m.end <= following[1]][:1]
    # a price per share or a holding reached (，价格不超过每股50港元; ，累计持股比例达9%) is no size
    if found and _NOT_AN_AMOUNT.search(doc.text, opening.start(), found[0].start):
        return []
    return found


_NOT_AN_AMOUNT = regex.compile(r"每股|持股|比例|占比|股权比例")


# A rate's new level (降息至3.5%, 将利率目标区间下调到3.50%-3.75%, 维持在4.25%), or its old one (关税由27.5%
# 降至15%, 从4.5%下调), is not the size of a change in it: the size is in bp or 百分点 (降息25个基点), or a
# bare percent (降息0.25%).
_LEVEL_BEFORE = ("至", "到", "为", "在", "于", "由", "从")
# ... unless the words before 为/在 name the size itself: 降息幅度为0.5%, 降幅为0.25%, a new tariff's rate
# (加征税率为25%的关税)
_SIZE_BEFORE = regex.compile(r"(?:幅度?|(?:加征|征收|开征)的?税率)(?:为|在)$")


def _a_rate_level(doc: _Doc, m: _Mag) -> bool:
    return (m.unit == "pct" and doc.text.endswith(_LEVEL_BEFORE, 0, m.start)
            and not _SIZE_BEFORE.search(doc.text, max(0, m.start - 8), m.start))


# A price move stated in money (大涨逾150美元, 大跌了12.5港元) has that amount as its size only when the
# figure follows the verb: after 至/到/报 or other words it is a level (涨至5580美元, 暴涨市值重回5万亿美元)
_MOVE_GAP = regex.compile(r"了?\s*")
_TO_LEVEL = regex.compile(r"至|到")
# What moved by that money is a total or a forecast, not the price: the market value, a fortune or a
# target price named before the verb in its clause (英伟达市值单日暴跌5890亿美元, 目标价大涨100美元), or
# named right after the amount (暴跌千亿港元市值, 暴涨10亿美元资金流入). A price move is never sized by it.
_TOTAL_BEFORE = regex.compile(r"市值|估值|身家|财富|总值|目标价|目标股价|目标位|预测")
_TOTAL_AFTER = regex.compile(r"的?(?:市值|估值|身家|财富|资金|总值)")


def _move_sizes(doc: _Doc, hit: _Hit, candidates: list[_Mag], clause: tuple[int, int]) -> list[_Mag]:
    """The figures that size a price move: a rate in the clause (大涨150美元或2.7%: 2.7%), else money or
    points right after the trigger (大涨500点; 站上3400点, 涨至45000点 are levels), unless that money is a
    total or a target that moved (市值暴跌5890亿美元)."""
    rates = [m for m in candidates if m.unit not in MONEY_UNITS and m.unit != "points"]
    if rates:
        return rates
    if _TOTAL_BEFORE.search(doc.text, clause[0], hit.start):
        return []
    return [_move_not_level(doc, m) for m in candidates if _MOVE_GAP.fullmatch(doc.text, hit.end, m.start)
            and not _TOTAL_AFTER.match(doc.text, m.end)]


def _move_not_level(doc: _Doc, m: _Mag) -> _Mag:
    """暴跌200美元至5300美元 reads as a range of dollars, but each figure has its own currency: the move,
    then the level it reached (200). 大涨100至150美元 shares one currency: a range of the move."""
    if m.low is None:
        return m
    sep = _TO_LEVEL.search(doc.text, m.start, m.end)
    if sep is None:
        return m
    left = [x for x in find_magnitudes(doc.text[m.start:sep.start()])
            if x.unit == m.unit and x.value is not None]
    return _shift(left[0], m.start) if len(left) == 1 and left[0].end == sep.start() - m.start else m


# The old and the new level of a rate, both stated (关税由25%上调至50%, 将利率从5.25%下调至5%): the size of
# the change is their difference, in percentage points, when no figure states it.
_FROM_LEVEL = ("由", "从")
_TO_LEVEL_BEFORE = ("至", "到", "为")


def _level_change(doc: _Doc, hit: _Hit, si: int, clause: tuple[int, int]) -> _Mag | None:
    """The change between two levels stated in the clause, or in the next one when it opens with them
    (印度下调了部分进口商品的关税，由150%降至100%)."""
    change = _levels_in(doc, hit, si, clause, framing=True)
    end = doc.sentences[si][1]
    if change is None and clause[1] < end - 1 and _LEVELS_OPENING.match(doc.text, clause[1] + 1, end):
        change = _levels_in(doc, hit, si, doc.clause_of(clause[1] + 1, doc.sentences[si]), framing=False)
    return change


_LEVELS_OPENING = regex.compile(r"\s*(?:税率|利率|关税)?(?:由|从)")


# between the trigger and the old level: another rate, or what the move led to
_OTHER_LEVEL = regex.compile(r"通胀|物价|CPI|PCE|房贷|按揭|存款|贷款|收益率|增速|增长率|失业率|汇率"
                             r"|利润率|毛利率|占比|比例|GDP|后|导致|使得|推动|带动|促使|引发")


def _levels_in(doc: _Doc, hit: _Hit, si: int, clause: tuple[int, int], framing: bool) -> _Mag | None:
    """In the hit's own clause the levels frame the trigger (由X下调至Y): levels of another rate in the
    clause (在通胀率从3%降至2.5%后宣布降息) are not the move's."""
    levels = [m for m in doc.magnitudes(si) if clause[0] <= m.start and m.end <= clause[1]
              and m.unit == "pct" and (m.value is not None or m.low is not None)]
    for old, new in itertools.pairwise(levels):
        if not (doc.text.endswith(_FROM_LEVEL, 0, old.start)
                and doc.text.endswith(_TO_LEVEL_BEFORE, 0, new.start)):
            continue
        framed = old.end <= hit.start and hit.end <= new.start
        follows = hit.end <= old.start and not _OTHER_LEVEL.search(doc.text, hit.end, old.start)
        if framing and not (framed or follows):
            continue  # the levels of something else (降息后房贷利率从7%降至6.5%, 导致通胀率从2%升至3%)
        if any(doc.text[m.start - 1:m.start] in ("-", "负", "−") or doc.text[m.start:m.start + 1] == "-"
               for m in (old, new)):
            return None  # a negative rate: _shift keeps sizes unsigned, so no difference is read
        change = _level_shift(old, new)
        if change is None:
            return None
        if change == 0 or (hit.rule.direction.value and (change > 0) != _raises(hit)):
            return None  # the levels contradict the verb: read no size rather than a wrong one
        bound = "about" if "about" in (old.bound, new.bound) else "exact"
        return _Mag(round(abs(change), 6), None, None, "pct", bound, old.start, new.end)
    return None


def _level_shift(old: _Mag, new: _Mag) -> float | None:
    """new - old for two rates, or two ranges of one width (目标区间从4.25%-4.5%下调至4%-4.25%)."""
    if old.value is not None and new.value is not None:
        return new.value - old.value
    if None in (old.low, old.high, new.low, new.high):
        return None
    width_old, width_new = old.high - old.low, new.high - new.low  # type: ignore[operator]
    if abs(width_old - width_new) > 1e-9:
        return None
    return new.low - old.low  # type: ignore[operator]


def _raises(hit: _Hit) -> bool:
    """Does the rule's event raise the rate (a hike, a tariff increase) rather than lower it?"""
    return hit.rule.type in ("rate_hike", "rrr_hike", "tariff_increase")


def _magnitude(doc: _Doc, hit: _Hit, si: int, clause: tuple[int, int]) -> _Mag | None:
    spec = hit.rule.magnitude
    candidates = _magnitude_candidates(doc, hit, si, clause)
    if spec is not None and not candidates and spec.as_unit in ("bp", "pct") and not spec.group:
        change = _level_change(doc, hit, si, clause)
        candidates = [change] if change is not None else []
    if spec is None or not candidates:
        return None
    mag = candidates[-1] if spec.pick == "last" else candidates[0]
    return _convert(mag, spec.as_unit, doc.text)


# 英伟达、AMD分别上涨3%和5%: one figure per subject of the list, in order. 各 says it too when as many
# figures as names follow (英伟达和微软各投资50亿美元和100亿美元); with one figure (各投资50亿美元) each
# has that one. Not 各 inside a word (各类, 各地), as in _DISTRIBUTIVE.
_RESPECTIVELY = regex.compile(r"分别|各(?![类地国种界方项级省市区部行业领条式样])")
# what stands between two figures of one list (3%和5%, 3%、5%); 3%和下跌5% is another trigger's figure
_LIST_SEPARATOR = regex.compile(r"\s*(?:和|与|及|以及|、|,|，|/)?\s*")


def _respective(doc: _Doc, hit: _Hit, si: int, clause: tuple[int, int],
                subjects: list[_Subject]) -> list[_Mag] | None:
    """The magnitudes of a 分别 (or 各) statement, one per subject, when the clause gives exactly one
    each."""
    spec = hit.rule.magnitude
    if spec is None or len(subjects) < 2 or spec.group or spec.pick == "last":
        return None
    first = min((sub.start for sub in subjects if sub.start is not None), default=None)
    if first is None or not _RESPECTIVELY.search(doc.text, first, hit.start + 4):
        return None
    candidates = [m for m in _magnitude_candidates(doc, hit, si, clause) if m.start >= hit.start]
    if len(candidates) != len(subjects):
        return None
    if not all(_LIST_SEPARATOR.fullmatch(doc.text, a.end, b.start)
               for a, b in itertools.pairwise(candidates)):
        return None
    return [_convert(m, spec.as_unit, doc.text) for m in candidates]


# A figure that sums a list's (合计, 共计, 总计, 共同 …): 微软、谷歌资本支出合计将增至3000亿美元. Not 累计,
# which is each one's own running total (英伟达、AMD年内累计上涨50%).
_TOTAL = regex.compile(r"合计|共计|总计|合共|总共|一共|共同|联合|总额|总和")


def _is_total(doc: _Doc, clause: tuple[int, int], subjects: list[_Subject], mag: _Mag) -> bool:
    """The figure is said of the subjects together: a total word between the first subject (or the
    clause's start) and the figure."""
    first = min((sub.start for sub in subjects if sub.start is not None), default=clause[0])
    return _TOTAL.search(doc.text, min(first, clause[0]), mag.start) is not None


# A word that gives the figure to each name of the list (英伟达和微软均将投资100亿美元, 各投资, 分别投资);
# not inside a place or a word (成都, 首都, 都市; 各类, 各地; 均价, 均线), which gives nothing to each
_DISTRIBUTIVE = regex.compile(r"各(?![类地国种界方项级省市区部行业领条式样])|均(?![价值线衡])"
                              r"|(?<![成首京古故帝陪旧新定迁建国])都(?![市会城])|分别|每家|每个")


def _joint_amount(doc: _Doc, hit: _Hit, clause: tuple[int, int], subjects: list[_Subject],
                  mag: _Mag) -> bool:
    """One amount of money stated for a list of names in the trigger's own clause, with no word that
    gives it to each (英伟达和微软将投资150亿美元): money adds up, so it is their joint figure, like a
    合计 total. A rate (英伟达、AMD上涨5%), a price move or level (a per-share figure) is each one's
    own, and so is the statement under a header list of names (微软、谷歌：资本支出将增至800亿美元)."""
    if mag.unit not in MONEY_UNITS or hit.rule.type in _PRICE_MOVES:
        return False
    starts = [sub.start for sub in subjects]
    if any(s is None or s < clause[0] for s in starts):
        return False
    return _DISTRIBUTIVE.search(doc.text, min(s for s in starts if s is not None), mag.start) is None


# 每10股派发现金红利239.57元: an amount per N shares (每股: per one) right before the figure, the
# nearest 每 (每股收益6元拟每10股派3元 is 0.3 a share)
_PER_SHARES = regex.compile(r"每\s*(\d+|十)?\s*股(?![本东票价份])[^，。；每]{0,14}$")


def _per_share(mag: _Mag, text: str) -> _Mag:
    """``as: per_share``: an amount stated per N shares becomes per share, unit CNY/share; a total
    (分红总额1000亿元) stays as it is."""
    found = _PER_SHARES.search(text, max(0, mag.start - 24), mag.start)
    if found is None or mag.unit not in MONEY_UNITS:
        return mag
    shares = 10 if found.group(1) == "十" else int(found.group(1) or 1)

    def each(x: float | None) -> float | None:
        return None if x is None or not shares else round(x / shares, 10)
    return _Mag(each(mag.value), each(mag.low), each(mag.high), f"{mag.unit}/share", mag.bound, mag.start,
                mag.end, mag.short_of)


def _convert(mag: _Mag, as_unit: str | None, text: str) -> _Mag:
    if as_unit == "per_share":
        return _per_share(mag, text)
    if as_unit == "price" and mag.unit in MONEY_UNITS:
        return _Mag(mag.value, mag.low, mag.high, "price", mag.bound, mag.start, mag.end)
    if as_unit == "bp" and mag.unit in ("pct", "pp", "ppt", "pct_point"):
        def bp(x: float | None) -> float | None:
            return None if x is None else round(x * 100, 6)
        return _Mag(bp(mag.value), bp(mag.low), bp(mag.high), "bp", mag.bound, mag.start, mag.end)
    if as_unit == "pct" and mag.unit == "bp":
        # a rate that is quoted in percent (a tariff: 加征25%) changed by 个百分点 keeps percent points
        def points(x: float | None) -> float | None:
            return None if x is None else round(x / 100, 6)
        return _Mag(points(mag.value), points(mag.low), points(mag.high), "pct", mag.bound, mag.start,
                    mag.end)
    return mag


def _passes_min(mag: _Mag | None, hit: _Hit) -> bool:
    spec = hit.rule.magnitude
    if spec is None:
        return True
    if mag is None:
        return not spec.required
    size = mag.value if mag.value is not None else mag.low
    if spec.min is None:
        return True
    return size is not None and (size > spec.min if mag.short_of else size >= spec.min)


def _source(doc: _Doc, hit: _Hit, sentence: tuple[int, int], subject: _Subject) -> str | None:
    """The speaking institution in the sentence (nearest before the trigger), else in the lead.

    A mention counts when the linker saw it speak (大摩表示, 据高盛); for broker actions any research
    house before the trigger is the actor (高盛将微软目标价下调), so it counts too."""
    broker = hit.rule.family == "analyst"

    def speakers(start: int, end: int, actors: bool) -> list[Mention]:
        return [m for m in doc.mentions_in(start, end) if m.start != subject.start
                and (m.role_hint == "speaker" or (actors and m.instrument.speaker and m.end <= hit.start))]

    here = speakers(*sentence, broker)
    before = [m for m in here if m.end <= hit.start]
    pick = before[-1] if before else (here[0] if here else None)
    if pick is None:
        pick = next((m for m in doc.lead_speakers() if m.start != subject.start), None)
    return doc.raw[pick.start:pick.end] if pick else None


def _relevance(doc: _Doc, hit: _Hit, subject: _Subject) -> int:
    if doc.in_title(hit.start):
        return 100
    if subject.ticker or subject.text:
        for m in doc.mentions_in(0, doc.title_len):
            same = m.instrument.ticker == subject.ticker if subject.ticker else m.text == subject.text
            if same:
                return 100
    return max(20, 80 - 10 * doc.paragraph_of(hit.start))


def _confidence(rule: Rule, subject: _Subject) -> float:
    if subject.link_confidence is not None:
        factor = 0.5 + 0.5 * subject.link_confidence
    elif subject.ticker:
        factor = 1.0  # fixed subject from the rule
    else:
        factor = 0.8 if subject.text else 0.6
    return round(rule.confidence * factor, 3)


def _events_for_hit(doc: _Doc, hit: _Hit, linker: Linker, article_id: str) -> list[tuple[Event, bool]]:
    """The hit's events, each with whether its subject was guessed from the title."""
    si = doc.sentence_of(hit.start)
    sentence = doc.sentences[si]
    clause = doc.clause_of(hit.start, sentence)
    rule = hit.rule
    # first the checks that drop a hit whoever its subject is
    if _hypothetical(doc, hit, sentence, clause):
        return []
    modality = _modality(doc, hit, clause, sentence)
    if modality == "negated" and rule.family == "corporate" and _ABSENT.search(doc.text, clause[0],
                                                                                 hit.start):
        return []
    subjects = [sub for sub in _subjects(doc, hit, linker, sentence, clause)
                if not _excluded_between(doc, hit, sub, clause)]
    if rule.type in _PRICE_MOVES and _intraday_peak(doc, hit, clause):
        subjects = [sub for sub in subjects if not _closed(doc, hit, sentence, clause, sub)]
    if rule.family not in SUBJECT_OPTIONAL and all(sub.text is None for sub in subjects):
        return []  # no subject gives an event (the loop below skips each): the figures need no reading
    mag = _magnitude(doc, hit, si, clause)
    respective = _respective(doc, hit, si, clause, subjects)
    if respective is not None:  # each subject has its own figure, and its own minimum
        kept = [(sub, m) for sub, m in zip(subjects, respective, strict=True) if _passes_min(m, hit)]
        subjects, mags = [sub for sub, _ in kept], [m for _, m in kept]
    elif not _passes_min(mag, hit):
        return []
    elif mag is not None and len(subjects) > 1 and (_is_total(doc, clause, subjects, mag)
                                                      or _joint_amount(doc, hit, clause, subjects, mag)):
        # 微软、谷歌资本支出合计将增至3000亿美元, 英伟达和微软将投资150亿美元: the sum is no one's own figure
        if hit.rule.magnitude is not None and hit.rule.magnitude.required:
            return []
        mags = [None] * len(subjects)
    else:
        mags = [mag] * len(subjects)
    subjects = [_listing_named(doc, clause, sub, linker) for sub in subjects]
    subjects = [_generic_oil(doc, sentence, sub) for sub in subjects]
    base = _direction(hit)
    direction = -base if modality == "negated" else base
    sign = -1 if modality == "negated" else 1
    evidence = doc.raw[sentence[0]:sentence[1]].strip()
    events = []
    for subject, mag in zip(subjects, mags, strict=True):
        if subject.text is None and rule.family not in SUBJECT_OPTIONAL:
            continue
        # a research house's forecast of a company's figures or spending is not the company's
        if (rule.family == "earnings" or rule.type == "capex_increase") and _broker_forecast(
                doc, hit, sentence, subject):
            continue
        # the expected sign of each exposed instrument, final: not to be multiplied by the direction
        exposures = tuple((t, s * sign) for t, s in rule.exposures_for(subject.ticker))
        events.append((Event(
            article_id=article_id, rule_id=rule.id, rule_version=rule.version, type=rule.type,
            topic=TAXONOMY[rule.type].family, subject=subject.text, ticker=subject.ticker,
            entity_kind=subject.kind, link_confidence=subject.link_confidence, direction=direction,
            magnitude=mag.value if mag else None, magnitude_low=mag.low if mag else None,
            magnitude_high=mag.high if mag else None, unit=mag.unit if mag else None,
            magnitude_bound=mag.bound if mag else None, modality=modality,
            source=_source(doc, hit, sentence, subject), evidence=evidence, span_start=hit.start,
            span_end=hit.end, in_title=doc.in_title(hit.start), confidence=_confidence(rule, subject),
            relevance=_relevance(doc, hit, subject),
            event_key=f"{rule.type}|{subject.ticker or subject.text or ''}|{direction}", exposures=exposures,
        ), subject.guessed))
    return events


# The listing a clause names, and how its ticker ends (a US listing has no exchange suffix)
_LISTINGS: tuple[tuple[Any, Callable[[str], bool]], ...] = (
    (regex.compile(r"H股|港股"), lambda t: t.endswith(".HK")),
    (regex.compile(r"A股"), lambda t: t.endswith((".SS", ".SZ"))),
    (regex.compile(r"美股|美国存托股|ADR"), lambda t: "." not in t),
)


def _listing_named(doc: _Doc, clause: tuple[int, int], subject: _Subject, linker: Linker) -> _Subject:
    """A company listed twice whose event's clause names one listing (中国海油…回购公司H股, 百度港股收涨3%，
    美股盘前涨2%) is that listing's: the name links one listing first (600938.SS, not 0883.HK)."""
    if subject.ticker is None or subject.ticker not in linker.instruments:
        return subject
    alternatives = linker.instruments[subject.ticker].alt_tickers
    if not alternatives:
        return subject  # listed once, as most are: no clause search on every event
    # from the subject on, when it stands in the clause: a market named before it is another's context
    # (隔夜美股中概股大涨带动阿里巴巴今日大涨5%: the Hong Kong move)
    start = clause[0]
    if subject.start is not None and clause[0] <= subject.start < clause[1]:
        start = subject.start + len(subject.text or "")
    named = [is_it for pattern, is_it in _LISTINGS if _names_listing(doc, pattern, (start, clause[1]))]
    if len(named) != 1:
        return subject  # no listing named, or two (A股和H股)
    if named[0](subject.ticker):
        return subject
    other = [t for t in alternatives if named[0](t)]
    return replace(subject, ticker=other[0]) if len(other) == 1 else subject


# Oil named without its benchmark (原油, 国际油价) links WTI; in a sentence that names Brent and not WTI
# it is Brent (国际油价周一跳水，布伦特原油期货跌超4%: one move, not an unsized WTI one beside Brent's), as
# docs/taxonomy.md reads an oilfield shut.
_GENERIC_OIL = frozenset({"原油", "国际油价"})


def _generic_oil(doc: _Doc, sentence: tuple[int, int], subject: _Subject) -> _Subject:
    if subject.ticker != "CL=F" or subject.text not in _GENERIC_OIL:
        return subject
    named = {m.instrument.ticker for m in doc.mentions_in(sentence[0], sentence[1])
             if m.text not in _GENERIC_OIL}
    if "BZ=F" in named and "CL=F" not in named:
        return replace(subject, ticker="BZ=F")
    return subject


def _names_listing(doc: _Doc, pattern: Any, clause: tuple[int, int]) -> bool:
    """The clause names the listing outside any name (秦港股份 is a company, not 港股)."""
    names = doc.mentions_in(clause[0], clause[1])
    return any(all(not (x.start < m.end() and m.start() < x.end) for x in names)
               for m in pattern.finditer(doc.text, clause[0], clause[1]))


def _broker_forecast(doc: _Doc, hit: _Hit, sentence: tuple[int, int], subject: _Subject) -> bool:
    """A research house's forecast of another company's figures is no result or outlook of that company.

    高盛预计宁德时代三季度净利润将同比增长20%, 对于贵州茅台，中金公司预计全年净利润增长15%: the broker
    (a speaking instrument) right before 预计/预期/预测/估计, earlier in the sentence than the trigger, is
    who forecasts; a broker's forecast of its own results (国盛证券预计2025年归母净利润…) is its own
    pre-announcement and stays."""
    clause_start = doc.clause_of(hit.start, sentence)[0]
    return any(m.instrument.speaker and m.start != subject.start and m.end <= hit.start
               and (doc.text.startswith(_FORECAST_VERBS, m.end)
                    # a revision verb only in the hit's clause (摩根大通上调苹果目标价，苹果同日下调全年营收
                    # 指引: the company's own cut stays)
                    or (m.start >= clause_start and doc.text.startswith(_REVISION_VERBS, m.end)))
               for m in doc.mentions_in(sentence[0], hit.start))


def _drop_guesses(events: list[tuple[Event, bool]]) -> list[Event]:
    """A title-guessed subject yields to a subject read in the sentence for the same trigger.

    Two rules of one type on one trigger: 近日，月之暗面正式发布…模型 gives the unlinked 月之暗面 to the
    rule that reads names, and the title's company to the rule that could not; the reading wins."""
    read = {(ev.type, ev.span_start) for ev, guessed in events if not guessed}
    return [ev for ev, guessed in events if not (guessed and (ev.type, ev.span_start) in read)]


def _per_broker(group: list[Event]) -> list[list[Event]]:
    """Broker actions are kept per broker (大摩 and 高盛 both cut 特斯拉's target: two events); an
    unattributed restatement (进而将目标价下调至600美元) joins the first broker's group."""
    by_source: dict[str | None, list[Event]] = {}
    for ev in group:
        by_source.setdefault(ev.source, []).append(ev)
    if None in by_source and len(by_source) > 1:
        unattributed = by_source.pop(None)
        next(iter(by_source.values())).extend(unattributed)
    return list(by_source.values())


def _refines(exact: Event, bounded: Event) -> bool:
    """``exact`` states the figure that ``bounded`` rounds: same unit, and inside its bound (逾8% /
    超8%: above 8, below the next step, 9; 约8%: within half a step of 8)."""
    if exact.magnitude_bound != "exact" or bounded.magnitude_bound not in ("at_least", "about"):
        return False
    if exact.unit != bounded.unit or exact.magnitude is None or bounded.magnitude is None:
        return False
    step = 10.0 ** math.floor(math.log10(bounded.magnitude)) if bounded.magnitude > 0 else 1.0
    if bounded.magnitude_bound == "at_least":
        return bounded.magnitude < exact.magnitude < bounded.magnitude + step
    return abs(exact.magnitude - bounded.magnitude) <= step / 2


def _short_names(events: list[Event]) -> dict[str, str]:
    """Unlinked subjects that extend a shorter unlinked subject of the article: 九识智能 -> 九识 (菜鸟
    入股九识智能 and 成为九识股东 are one investment). Linked subjects have tickers to compare."""
    names = sorted({ev.subject for ev in events if ev.ticker is None and ev.subject}, key=len)
    if len(names) < 2:
        return {}
    prefixes = {long: [n for n in names if len(n) >= 2 and len(n) < len(long) and long.startswith(n)]
                for long in names}
    return {long: found[0] for long, found in prefixes.items() if found}


def _tighter(group: list[Event], bounded: Event) -> Event | None:
    """Two lower bounds of one price move: the higher says more, and the lower is true of it too (中国
    奥园大涨超3% in the lead, 涨超27% in the detail: above 27). An intraday reading (盘中一度涨超12%),
    another session (盘后) or a longer time frame (年内涨超40%, 过去一年) is another figure, and so
    is an exact one outside the bound (``_refines``). Other events' figures are of other periods or
    measures (一季度 / 上半年 净利润预增超…, 加征超10%关税 / 平均税率已超20%): they lend none."""
    if bounded.magnitude_bound != "at_least" or bounded.magnitude is None or bounded.type not in _PRICE_MOVES:
        return None
    above = [d for d in group if d.unit == bounded.unit and d.magnitude_bound == "at_least"
             and d.magnitude is not None and d.magnitude > bounded.magnitude
             and not _OTHER_READING.search(d.evidence)]
    return max(above, key=lambda d: d.magnitude, default=None)


# what makes a price figure another reading than the day's move: intraday, another session, a longer
# time frame
_OTHER_READING = regex.compile(r"一度|盘中|日内|最高|最多|盘前|盘后|夜盘|累计|年内|今年|年初|以来|过去|本周|"
                               r"本月|本季|全年|连续|近[0-9一二三四五六七八九十两几半]+个?(?:交易日|日|天|周|月|年)")


def _dedupe(events: list[Event]) -> list[Event]:
    """One event per event_key in an article: the most relevant, then the earliest (title) span.

    A headline rarely carries the number, so a kept event without a magnitude takes it from the
    most relevant duplicate that has one (标题: 业绩预增; 正文: 同比增长40%至60%). Analyst events
    are kept per broker (``_per_broker``)."""
    by_key: dict[str, list[Event]] = {}
    short = _short_names(events)
    for ev in sorted(events, key=lambda e: (-e.relevance, e.span_start, e.rule_id)):
        key = ev.event_key
        if ev.ticker is None and ev.subject in short:
            key = f"{ev.type}|{short[ev.subject]}|{ev.direction}"
        by_key.setdefault(key, []).append(ev)
    groups = [sub for group in by_key.values()
              for sub in (_per_broker(group) if group[0].topic == "analyst" else [group])]
    kept = []
    for group in groups:
        ev = group[0]
        if ev.unit is None:
            donor = next((d for d in group if d.unit is not None), None)
        else:  # 标题: 贵州茅台涨逾8%; 正文: 贵州茅台大涨8.6%: the exact figure within the bound
            donor = next((d for d in group if _refines(d, ev)), None) or _tighter(group, ev)
        if donor is not None:
            ev = replace(ev, magnitude=donor.magnitude, magnitude_low=donor.magnitude_low,
                         magnitude_high=donor.magnitude_high, unit=donor.unit,
                         magnitude_bound=donor.magnitude_bound)
        kept.append(ev)
    return sorted(kept, key=lambda e: (e.span_start, e.span_end, e.type, e.subject or "", e.rule_id))


_SURROGATE = regex.compile("[\ud800-\udfff]")


def extract_text(text: str, *, title: str = "", rulebook: Rulebook, linker: Linker,
                 article_id: str = "") -> list[Event]:
    """Events in ``text``; with ``title`` the text is the body and spans index ``title + "\\n\\n" + text``."""
    full = f"{title}\n\n{text}" if title else text
    # lone surrogates cannot be encoded for the matchers; U+FFFD keeps every span where it was
    full = _SURROGATE.sub("\ufffd", full)
    doc = _Doc(full, len(title), linker)
    events: list[tuple[Event, bool]] = []
    hits = _find_hits(doc, rulebook, article_id)
    for hit in hits:
        if hit.start < doc.title_len:
            doc.title_hits.setdefault(hit.rule.type, hit.start)
    for hit in hits:
        events.extend(_events_for_hit(doc, hit, linker, article_id))
    return _dedupe(_drop_guesses(events))


@dataclass(frozen=True)
class TriggerSentence:
    """A sentence in which a rule's trigger fired, and whether one of the rule's patterns matched it.

    ``matched`` is False for a rule author's near miss: the keyword is there, the phrasing is not
    one the patterns know. Rules without patterns always match. Spans index ``title + "\\n\\n" + text``."""
    rule_id: str
    start: int
    end: int
    trigger: str
    matched: bool


def trigger_sentences(text: str, *, title: str = "", rulebook: Rulebook,
                      article_id: str = "") -> list[TriggerSentence]:
    """Every (rule, sentence) a trigger opened, in rulebook then text order (no linking: cheap)."""
    full = _SURROGATE.sub("\ufffd", f"{title}\n\n{text}" if title else text)
    doc = _Doc(full, len(title), None)
    out: list[TriggerSentence] = []
    for ri, spans in sorted(_trigger_spans(doc, rulebook).items()):
        rule = rulebook.rules[ri]
        first_in_sentence: dict[int, tuple[int, int]] = {}
        for span in sorted(spans):
            first_in_sentence.setdefault(doc.sentence_of(span[0]), span)
        for si, (ts, te) in first_in_sentence.items():
            matched = not rule.patterns or any(True for _ in _pattern_hits(doc, rule, si, spans, rulebook,
                                                                             article_id, rule.patterns))
            s, e = doc.sentences[si]
            out.append(TriggerSentence(rule.id, s, e, doc.raw[ts:te], matched))
    return out


def extract_article(article: Article, rulebook: Rulebook, linker: Linker) -> list[Event]:
    return extract_text(article.body, title=article.title, rulebook=rulebook, linker=linker,
                        article_id=article.id)


# --- provenance -------------------------------------------------------------------------------------

# The modules whose code decides which events an article gives. Feeds only shape the article text,
# which is stored (`signals extract --stored` extracts from it again).
_ENGINE_MODULES = ("extract", "entities", "numbers", "rules", "prefilter")


@functools.cache
def _engine_code_hash() -> bytes:
    digest = hashlib.sha256()
    for name in _ENGINE_MODULES:
        source = Path(importlib.import_module(f"signals.{name}").__file__ or "").read_bytes()
        digest.update(name.encode() + b"\0" + source + b"\0")
    return digest.digest()


def extractor_hash(linker: Linker | None = None) -> str:
    """Hash of the extraction code and of the reference data ``linker`` was built from (default: the
    data ``Linker.from_data()`` reads, without building it), stored with each event
    (``events.extractor_hash``): events an older extractor made can be found and extracted again.
    The rules have their own hash (``rulebook_hash``)."""
    from signals.entities import reference_data_hash

    data_hash = linker.data_hash if linker is not None else reference_data_hash()
    return hashlib.sha256(_engine_code_hash() + data_hash.encode()).hexdigest()[:16]


__all__ = ["Event", "TriggerSentence", "extract_article", "extract_text", "extractor_hash",
           "trigger_sentences"]
