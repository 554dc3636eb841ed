"""Round-9 kinds of distress misses, as held-out variants written for this test (own words, none
taken from a corpus; the example file must not hold them either).

Kinds (each must fire at every menu): standing at a height right now (wind, looking down) while the
debt is talked about; buying sedatives a little at a time from several shops so nobody notices; a
calm last call, small debts settled and apologies made one by one, a spouse to be spoken to gently
"when I'm not there"; a relative who asks how high the building is, who says "after I'm gone, pay
them", or "if anything happens to me the insurance covers the debt"; hoping for an accident for the
payout; relief at a bad diagnosis; old friends who now walk around the caller; "it will get
better" heard for years without a good day; calling oneself stupid beyond words.  Calm lines (must fire
at no menu): a chore on the roof told while the debt is discussed.
"""

from __future__ import annotations

import pytest

from ivr.understanding import Understander

MENUS = ("opening", "purpose", "income_source", "expenses", "unusual_expense", "plan", "promise", "closing")

SIGNS = {
    "direct_height_now": [
        "我人现在就在天台上，底下的车看着跟蚂蚁一样，你说吧还差多少",
        "我站在顶楼边上呢，风吹得我站不稳，欠款的事你接着讲",
        "你听得到风声吧，我在我们厂那栋楼顶上",
        "我这会儿在大桥上，往下看水挺急的，钱的事我知道了",
    ],
    "direct_stockpile": [
        "那种安眠的药我每回只敢买一板，换着药店买，免得人家问",
        "地西泮我是跑了四五个诊所一点一点开出来的，怕医生起疑心",
        "镇静剂我分开在不同药房买的，现在存了有小半瓶",
        "每个药店我只买一点安定，买多了怕被人看出来",
    ],
    "farewell": [
        "前天跟我爸视频，把这些年憋着没讲的话一口气都讲了，现在反而踏实了",
        "欠同事那几百块我都转过去了，一个一个发消息赔了不是，你们是最后一家",
        "往后我媳妇要是接到你们电话，跟她说话客气点，别吓着她，我不能陪着她了",
        "亲戚那边的小账我这礼拜都还清了，挨个打电话说了对不起",
    ],
    "third_party": [
        "我妈这几天老是站在窗边往下看，还问我们这栋楼到底有几十米",
        "我弟前天突然交代我，说等他走了以后叫我替他把网贷还掉",
        "我爱人说万一他有个三长两短，那份保险赔的钱刚好够还你们",
        "我姐一直念叨，说她要是有个好歹，保单的钱拿去还债就行",
    ],
    "death_wish": [
        "我真盼着哪天出个车祸，好歹还能赔一笔钱给孩子",
        "我要是出个意外死了，起码保险金够家里还账",
        "医生说我肺上有个阴影，我心里竟然松了一口气，总算不用再撑了",
        "确诊那天我一点都不怕，反倒觉得终于可以不用熬了",
    ],
    "isolation": [
        "以前天天一起喝酒的那帮朋友，现在在街上碰到我都绕道走",
    ],
    "hopelessness": [
        "大家都劝我会好起来的，可我等了好几年，一天好日子都没过上",
    ],
    "self_hate": [
        "我都不敢照镜子，看到自己那张脸就想吐",
        "我自己傻到家了，让人忽悠着投了钱，又借网贷去补窟窿",
    ],
}


@pytest.mark.parametrize("text", [t for ts in SIGNS.values() for t in ts])
def test_round9_sign_kinds_fire_at_every_menu(nlu: Understander, text: str) -> None:
    missed = [m for m in MENUS if (u := nlu.understand(m, text)).intent != "distress" and "distress" not in u.cues]
    assert not missed, (text, missed)


CALM = [
    "我在顶楼晒被子呢，这上面信号好，你接着说",
    "我人在天台上收衣服，等我下楼再跟你细说",
]


@pytest.mark.parametrize("text", CALM)
def test_round9_calm_kinds_fire_at_no_menu(nlu: Understander, text: str) -> None:
    fired = [m for m in MENUS if (u := nlu.understand(m, text)).intent == "distress" or "distress" in u.cues]
    assert not fired, (text, fired)
