"""Round-7 kinds of distress misses and false alarms, as held-out variants written for this test
(own words, none taken from a corpus; the example file must not hold them either).

Signs (each must fire at every menu): burdensomeness told as plain facts, waiting to be collected
as a corpse, dread of every new day, panic over many lenders, envy of those who died young, nobody
to talk to, a relative reporting someone silent at a height.  Calm lines (must fire at no menu): a
worry about who else will be called, how many calls came today, when to call, an insisting relative,
the end of a list.
"""

from __future__ import annotations

import pytest

from ivr.understanding import Understander

MENUS = ("opening", "purpose", "income_source", "expenses", "unusual_expense", "plan", "promise", "closing")

SIGNS = {
    "burden": [
        "我瘫在床上三年了，一家老小勒紧裤腰带还得养着我",
        "我老婆白天上班晚上去夜市摆摊，全是为了填我捅的窟窿",
        "七十岁的老爹把养老钱都拿出来替我还账了",
        "闺女为了帮我还债，书都不念了，跑去厂里打工",
    ],
    "death_wish": [
        "你们再催下去，过些日子直接来给我办后事吧",
        "到时候你们去殡仪馆找我要钱好了",
        "我那个早早走了的表哥，现在想想他倒是享福了",
        "有时候真羡慕那些年纪轻轻就走了的人，啥也不用扛",
    ],
    "exhaustion": [
        "天一亮我心里就发慌，又得硬熬一整天",
        "每天早上醒过来头一个念头就是，怎么又醒了",
    ],
    "entrapment": [
        "八九个平台轮着打过来，我胸口堵得透不过气，手一直在抖",
        "十几家网贷一起催，我一接电话就心慌得喘不上来",
    ],
    "isolation": [
        "这些事我能跟谁讲呢，身边连个说话的人都没有",
        "心里憋着的话没处说，家里外头一个能倾诉的都找不到",
    ],
    "third_party": [
        "我是他姐，他这两天老一个人在楼顶边上站着，叫他也不吭声",
        "我是她妈，她半夜一个人坐在阳台栏杆边上，一句话都不说",
    ],
}

CALM = [
    "你们该不会打到我单位领导那里去吧？",
    "先说好，别往我老家打电话，我爸妈年纪大了",
    "今天这都第四个催款电话了，我正开车呢",
    "一天打好几个，我这店里生意都没法做了",
    "以后晚上八点以前打我手机就行",
    "我是他姐姐，跟我讲也一样的嘛",
    "别的就这些，没有了",
]


@pytest.mark.parametrize("text", [t for ts in SIGNS.values() for t in ts])
def test_round7_sign_kinds_fire_at_every_menu(nlu: Understander, text: str) -> None:
    missed = [m for m in MENUS if (u := nlu.understand(m, text)).intent != "distress" and "distress" not in u.cues]
    assert not missed, (text, missed)


@pytest.mark.parametrize("text", CALM)
def test_round7_calm_kinds_fire_at_no_menu(nlu: Understander, text: str) -> None:
    fired = [m for m in MENUS if (u := nlu.understand(m, text)).intent == "distress" or "distress" in u.cues]
    assert not fired, (text, fired)
