"""Export matching: advisors covering more of the SME's target countries come first."""

from maillage.engine.export import Candidate, rank


def c(i, countries, sectors, kind="advisor", languages=(), available=True):
    return Candidate(
        i, kind, frozenset(countries), frozenset(sectors), frozenset(languages), available
    )


def test_countries_first_then_sectors_with_reasons():
    cands = [
        c(1, {"DE"}, {"agrifood"}),
        c(2, {"MA"}, {"energy"}),
        c(3, {"MA", "VN"}, {"agrifood"}, languages={"ar"}),
        c(4, {"VN"}, {"agrifood"}, available=False),
        c(5, {"US"}, {"digital"}),
    ]
    out = rank(["ma", "VN"], ["agrifood"], cands, languages=["AR"])
    assert [m.id for m in out] == [3, 4, 2, 1]
    assert out[0].countries == ("MA", "VN") and out[0].sectors == ("AGRIFOOD",)
    assert out[0].languages == ("AR",)
    assert not out[1].available
    assert 5 not in [m.id for m in out]


def test_nothing_targeted_nothing_ranked():
    assert rank([], [], [c(1, {"MA"}, {"agrifood"})]) == []
    assert rank(["MA"], [], []) == []
