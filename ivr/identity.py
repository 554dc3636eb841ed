"""SPEC §1 identity rule: only an explicit affirmation of identity confirms.

The understanding may call 嗯/喂/你说/好 `confirm` (they are polite answers to the opening); the dialog
asks this module whether the words really say "I am {name}" before a single debt detail is said.

Explicit (flow.yaml `identity`):
- self-identification anywhere in the answer: 是我 / 我就是 / 就是我 / 本人 / 我是 + the debtor's
  name (or the end of the clause) — not after a negator (不是我, 不是本人), not 我是他老婆 / 这是我老公的;
- a short yes standing alone as a clause, which answers "请问是{name}本人吗": 是 / 是的 / 对 / 对的 /
  没错 / 嗯对 (with fillers around it).  In a third-party conversation a bare yes is not enough: the
  person must name themself (`strict`).
Not explicit: 嗯 / 喂 / 你说 / 啊？/ 哪位 / 谁啊 / 有事吗 / 好 / 行 / 找我什么事 — the bot asks again, naming
the person.  Keys (1) are explicit by construction and never reach this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

CLAUSE = re.compile(r"[\s,，。.!！?？;；:：、~～…—\-\"“”'‘’()（）]+")
FILLERS = "嗯恩哦噢喔啊呀哎诶欸唉呃喂额哈"
PARTICLES = "啊呀嘛呢哈啦嘞咧哦噢吧的滴哩喽咯噻撒唦哒嗯"
NEGATORS = ("不", "没", "非", "冇", "唔")
# after 是我 these make it someone else's: 是我老公的手机, 是我妈, 不是我的
# ...or defiant (是我又怎么样 / 是我又咋了 / 是我，那又如何): still the debtor speaking, in a temper
ASKS_BACK: tuple[str, ...] = (
    "咋",
    "怎么",
    "什么",
    "啥",
    "有事",
    "有啥",
    "么子",
    "你说",
    "你讲",
    "您说",
    "请讲",
    "说吧",
    "讲吧",
)
ASKS_BACK += ("又怎", "又咋", "又如何", "又怎样", "又能怎", "怎样", "如何", "想怎", "要怎", "又是你们")
THIRD_PERSON = ("他", "她", "它", "ta", "TA")


def clauses(text: str) -> list[str]:
    return [c for c in CLAUSE.split(text or "") if c]


def _strip(c: str) -> str:
    return c.strip(FILLERS).rstrip(PARTICLES)


def _name_forms(name: str) -> list[str]:
    forms = [name]
    if len(name) >= 3:
        forms.append(name[1:])  # given name: 小北 for 钱小北
    return [f for f in forms if f]


def affirms(
    text: str,
    name: str,
    words: Iterable[str],
    alone: Iterable[str],
    strict: bool = False,
) -> bool:
    """True when `text` explicitly says the speaker is `name` (see module doc)."""
    words = tuple(words)
    # a bare yes beside words about the phone, a family member or the debtor in the third person
    # (是啊，这是李娜的手机 / 对，他手机在我这) answers "is this {name}'s phone", not "are you {name}"
    alone_set = set() if about_other(text, name) else set(alone)
    names = _name_forms(name)
    for clause in clauses(text):
        core = _strip(clause)
        if not strict and (core in alone_set or clause in alone_set):
            return True
        if _names_debtor(clause, names):
            return True
        for w in words:
            start = clause.find(w)
            while start >= 0:
                if _explicit(clause, start, w, names):
                    return True
                start = clause.find(w, start + 1)
    return False


# the phone / the debtor as someone else: 这是X的手机, 他的电话, 我老公的号, 这手机是X的
_PHONE = ("手机", "电话", "号码", "号", "卡")
THIRD = (*THIRD_PERSON, "伊", "佢")


def about_other(text: str, name: str) -> bool:
    """True when the answer speaks of the phone's owner or of the debtor in the third person (see
    `affirms`): a third-person pronoun (not 其他), the debtor's name or nickname followed by 的 / a
    phone word, or a phone word next to 的 (这是…的手机 / 手机是…的)."""
    names = [*_name_forms(name), *nicknames(name)]
    for c in clauses(text):
        c = c.replace("其他", "").replace("其它", "")
        if any(p in c for p in THIRD):
            return True
        if any(n + "的" in c or any(n + w in c for w in _PHONE) for n in names):
            return True
        for w in _PHONE:
            i = c.find(w)
            if i < 0:
                continue
            if "的" in c[:i] or re.search(rf"{w}.*是.*的", c):
                return True
    return False


def _explicit(clause: str, start: int, word: str, names: list[str]) -> bool:
    before, after = clause[:start], clause[start + len(word) :]
    if before.endswith(NEGATORS) or before.endswith(("不是", "不就是")):
        return False
    # 系我 / 係我 (粤/客家 "it's me") starts its clause: inside 联系我 / 关系我 / 维系 it is another word
    # (a brother's "叫他微信上联系我" confirmed him as the debtor in blind round 7)
    if word.startswith(("系", "係")) and before and before[-1] not in FILLERS + PARTICLES + "就正对":
        return False
    if word.endswith("本人"):
        # 本人不在 / 跟本人说 / 你找本人 are about the debtor, not an affirmation
        return not after.startswith(NEGATORS) and not before.endswith(("跟", "找", "让", "叫", "给", "他", "她", "要"))
    if word.startswith(("我", "俺")) and word.endswith(("是", "係", "系")):  # 我是 / 我就是 / 俺是
        rest = after.lstrip(PARTICLES)
        if not rest:
            return True
        return rest.startswith("本人") or any(rest.startswith(n) and not _possessed(rest[len(n) :]) for n in names)
    # 是我 / 就是我 / 是俺 / 係我: only as the end of the clause or before the name (是我，李娜 / 是我李娜);
    # 钱都是我管 / 是我老公的手机 / 这是我妈 go on about something else
    if before.endswith(("这", "那个", "他", "她", "都", "也", "还")):
        return False
    rest = after.lstrip(PARTICLES)
    # ...or before a question back: 是我咋的 / 是我，什么事 / 是我你说
    if any(rest.startswith(n) for n in names):
        return not any(rest.startswith(n) and _possessed(rest[len(n) :]) for n in names)
    return not rest or rest.startswith(("本人", "是我", "就是", *ASKS_BACK))


def _possessed(after_name: str) -> bool:
    """我是张伟的老婆 / 我是张伟他妈: the name is someone else's."""
    return after_name.startswith(("的", "他", "她", "家", "之"))


def _names_debtor(clause: str, names: list[str]) -> bool:
    """是陶静 / 嗯是马丽 / 对，是李娜本人: 是 + the debtor's name as the clause, answering
    "请问是{name}本人吗" (not 是陶静的电话, not 不是陶静)."""
    core = clause.strip(FILLERS)
    for lead in ("对", "对对", "嗯"):
        if core.startswith(lead + "是"):
            core = core[len(lead) :]
    if not core.startswith("是"):
        return False
    rest = core[1:]
    for n in names:
        if rest.startswith(n):
            tail = rest[len(n) :].lstrip(PARTICLES)
            return not tail or tail.startswith(("本人", *ASKS_BACK))
    return False


def speaks_for(text: str, name: str, relations: Iterable[str]) -> bool:
    """True when the speaker names themself as someone else's relation: 我是他妈 / 我是她爱人 /
    我是张伟的老婆 / 文斌是我儿子 / 他是我老公 (a third party, even while telling of a crisis)."""
    rel = "|".join(re.escape(r) for r in sorted(set(relations), key=len, reverse=True))
    if not rel:
        return False
    who = "|".join(["他", "她", "ta", *(re.escape(n) for n in _name_forms(name))])
    mine = rf"(?:我是|我就是)(?:{who})?(?:的|家)?(?:{rel})"
    theirs = rf"(?:{who})(?:是|就是)我(?:的|家)?(?:{rel})"
    return any(re.search(f"{mine}|{theirs}", c) for c in clauses(text))


def nicknames(name: str) -> list[str]:
    """What family calls the debtor: the given name, its last character doubled or with 小/阿
    (李娜 → 娜娜 / 小娜 / 阿娜; 钱小北 → 小北 / 北北)."""
    if len(name) < 2:
        return []
    last = name[-1]
    return [*_name_forms(name)[1:], last * 2, "小" + last, "阿" + last]


# 这是李娜的手机 / 这是她老家的号 / 李娜不在 / 她上班去了: the speaker talks about the debtor
_OWNED = ("的手机", "的电话", "的号", "手机", "电话")
_AWAY = ("不在", "出去", "出门", "去了", "上班", "开会", "没空", "在忙", "睡了", "回来", "落", "忘")


def speaks_about(text: str, name: str, relations: Iterable[str]) -> bool:
    """True when the speaker speaks of the debtor as someone else (a third party): their relation
    (speaks_for), "{name}是我…" (李娜是我表妹, any word for the relation), the phone being the debtor's
    (这是{name}的手机 / 这是她…的号), or the debtor (by name or nickname) being away (娜娜不在)."""
    if speaks_for(text, name, relations):
        return True
    names = [name, *nicknames(name)]
    who = "|".join(re.escape(n) for n in names)
    for c in clauses(text):
        # ...or he/she works for the speaker: 她是我店里的服务员 / 他是我们工地的小工
        if re.search(rf"(?<![我是找叫])(?:{who}|他|她)(?:是|就是)我.", c):
            return True
        if re.search(rf"这(?:是|个是)(?:{who}|他|她)", c) and any(w in c for w in _OWNED):
            return True
        # 李娜的号 / 她手机落我这了 / 这手机是李娜的: the phone is the debtor's, the speaker someone else
        if re.search(rf"(?:{who}|他|她)的?(?:手机|电话|号)", c) or re.search(
            rf"(?:手机|电话|号).*是(?:{who}|他|她)的", c
        ):
            return True
        m = re.search(rf"(?<![我是找叫跟和给])(?:{who})(?!的)", c)
        if m and any(w in c[m.end() :] for w in _AWAY):
            return True
    return False


def first_person(text: str, name: str, words: Iterable[str]) -> bool:
    """An explicit self-affirmation in the first person (是我 / 我是+name / 我就是), not a bare yes,
    said by no one who also speaks of him/her: such a caller is the debtor, whatever a
    sound-alike (是我嘛 ~ 我妈) made of it."""
    if any(p in text for p in THIRD_PERSON):
        return False
    return affirms(text, name, [w for w in words if "我" in w or "俺" in w], (), strict=True)


# "不是我 / 我不是 / 不是本人 / 打错了 / 不认识": the speaker says they are not the debtor
_NOT_ME = ("不是我", "我不是", "俺不是", "不是本人", "打错", "不认识", "没这个人", "找错")
_ASKED = re.compile(r"[^\s,，。.!！?？;；:：、~～…]*[?？]")


def affirms_after_asking(text: str, name: str, words: Iterable[str], alone: Iterable[str]) -> bool:
    """ "那你找谁？郑国栋？我就是，你说" / "不是小军啊……刘桂香？是我": a 不是 about something else (not
    the person we want), then the caller names themself after asking back: an affirmation.  Never when
    any clause says the speaker is not the debtor (不是我 / 不是{name} / 打错了), when the affirmation
    is itself asked (是我？), or when a clause after it starts with a negator (是我…不对，不是)."""
    words, alone = tuple(words), tuple(alone)
    if any(w in text for w in _NOT_ME) or any("不是" + n in text for n in _name_forms(name)):
        return False
    asked = {q.rstrip("?？") for q in _ASKED.findall(text)}
    cls = clauses(text)
    last = -1
    for i, c in enumerate(cls):
        if c not in asked and affirms(c, name, words, alone, strict=True):
            last = i
    if last < 0:
        return False
    return not any(_strip(c).startswith(NEGATORS) for c in cls[last + 1 :])


def unaffirmed_rest(text: str, name: str, words: Iterable[str], alone: Iterable[str]) -> str:
    """The clauses of `text` that are not the affirmation (for "是我，你四点半以后再打吧")."""
    words, alone = tuple(words), tuple(alone)
    keep = [c for c in clauses(text) if not affirms(c, name, words, alone)]
    return "，".join(keep)
