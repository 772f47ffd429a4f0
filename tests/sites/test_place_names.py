"""Place-name normalisation: punctuation, the province and city, and committee suffixes go."""

from __future__ import annotations

from sharedcourt.sites.place_names import normalize, strip_suffix


def test_normalize() -> None:
    assert normalize("浙江省 衢州市，柯城区！") == "柯城区"
    assert normalize("万安村委会") == "万安村"
    assert normalize("胡村村委会") == "胡村"
    assert normalize("书香社区居委会") == "书香社区"


def test_strip_suffix_keeps_two_characters() -> None:
    assert strip_suffix("万安村", ("社区", "村")) == "万安"
    assert strip_suffix("胡村", ("社区", "村")) == "胡村"
