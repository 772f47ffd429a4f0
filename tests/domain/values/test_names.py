"""Names in colloquial Chinese: surname kept, given name starred, only in a context that says "person"."""

from __future__ import annotations

import pytest

from sharedcourt.domain.values.names import as_known_names, mask_names, names_in


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # introductions
        ("我叫张三", "我叫张*"),
        ("你好，我叫李小明，想咨询一下", "你好，我叫李**，想咨询一下"),
        ("他叫司马光，是我同事", "他叫司马*，是我同事"),
        ("对方是刘德华", "对方是刘**"),
        ("对方：王建军", "对方：王**"),
        ("我老公赵建国打我", "我老公赵**打我"),
        ("我前夫吴刚不给抚养费", "我前夫吴*不给抚养费"),
        ("朋友田甜借钱不还", "朋友田*借钱不还"),
        ("邻居陈志强家的树倒了", "邻居陈**家的树倒了"),
        # next to 欠 / 借 / 打 / 告
        ("张三欠我钱", "张*欠我钱"),
        ("张三欠我三万块钱一直不还", "张*欠我三万块钱一直不还"),
        ("李小明借了我五万块钱一直不还", "李**借了我五万块钱一直不还"),
        ("王芳打了我一巴掌", "王*打了我一巴掌"),
        ("被王芳打了", "被王*打了"),
        ("我要告孙伟", "我要告孙*"),
        ("我想起诉黄海涛", "我想起诉黄**"),
        ("我借给李四两万", "我借给李*两万"),
        ("向张三借了三千", "向张*借了三千"),
        ("我和马云是朋友", "我和马*是朋友"),
        ("杨光明拖欠工资三个月", "杨**拖欠工资三个月"),
        ("他说王强家的狗咬人", "他说王*家的狗咬人"),
        ("我跟周杰说好了", "我跟周*说好了"),
        # compound surnames stay whole
        ("欧阳娜娜打了我", "欧阳**打了我"),
        ("上官婉儿骂我", "上官**骂我"),
        ("诸葛亮欠我钱", "诸葛*欠我钱"),
        # two people in one message
        ("张三和李四一起打我", "张*和李*一起打我"),
    ],
)
def test_names_are_masked(text: str, expected: str) -> None:
    assert mask_names(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "我去张家口打工",
        "我儿子天天玩王者荣耀",
        "村委会不管",
        "我找村委会调解过",
        "我很高兴",
        "高兴的是他还了",
        "他常常打我",
        "马上打电话给他",
        "周末打球的时候撞到了",
        "黄金被偷了",
        "高速上撞了车",
        "许多人都知道",
        "万一他不还呢",
        "于是我报警了",
        "钱还没还",
        "石头砸了我的车",
        "白天打电话没人接",
        "孙子打我",
        "江山那边的房子",
        "常山县的土地",
        "金额是两万",
        "方便打电话吗",
        "何必呢",
        "邻居王大妈天天骂人",  # a title, not a given name: the surname alone says nothing
        "张师傅说明天来",
        "陈老板欠我工资",
        "李某欠钱不还",
        "明天再说吧",
        "您好，我是白云街道共享法庭的调解员",  # a town's name after an introduction is still a place
        "我是柯城区人，叫我去找石梁镇政府",
        "我是江山市的",
    ],
)
def test_ordinary_words_are_not_names(text: str) -> None:
    assert mask_names(text) == text


def test_known_names_are_masked_anywhere() -> None:
    # no context at all: a party the intake collected is masked wherever it appears
    assert mask_names("昨天见到张三了", ["张三"]) == "昨天见到张*了"
    assert mask_names("张三 李四", ["邻居张三", "李四"]) == "张* 李*"
    assert mask_names("欧阳娜娜在吗", ["欧阳娜娜"]) == "欧阳**在吗"
    # a company is not a name
    assert mask_names("某某装修公司不退钱", ["某某装修公司"]) == "某某装修公司不退钱"


def test_names_in_and_known_names() -> None:
    assert names_in("我叫张三，李四欠我钱") == ["张三", "李四"]
    assert as_known_names(["张三", "邻居李小明", "某某装修公司", "", "王师傅"]) == ["李小明", "张三"]
