"""Rule sets: validated on load, with did-you-mean hints; extends; rounding and grades."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from evaluator import RuleSetError, list_rule_sets, load_rules
from evaluator.rules import METHODS, Rounding, method_from_dict


def test_bundled_rule_sets_load_and_cite_sources():
    sets = {r.id: r for r in list_rule_sets()}
    assert {"mof-2020", "provincial-platform-2022"} <= set(sets)
    for r in sets.values():
        assert r.sources and all(s.title for s in r.sources)
        assert sum(g.weight for g in r.weights.groups) + r.weights.execution == 100


def test_national_default_settings(mof):
    assert [(g.key, g.weight) for g in mof.weights.groups] == [("output", 50), ("benefit", 30), ("satisfaction", 10)]
    assert mof.weights.execution == 10
    assert (mof.scoring.higher.name, mof.scoring.lower.name, mof.scoring.equal.name) == ("ratio", "linear-to-zero", "equal")
    assert mof.missing_actual == "error" and mof.not_applicable == "rescale"
    assert not mof.over_achievement.enabled
    assert mof.execution.total_caps == ()
    assert (mof.rounding.decimals, mof.rounding.mode) == (2, "half-up")


def test_provincial_variant_differs_in_several_settings(mof, platform):
    assert platform.extends == "mof-2020"
    assert platform.over_achievement.enabled and platform.over_achievement.threshold == 1.3
    assert platform.over_achievement.deduction == 2
    assert [(c.below, c.cap) for c in platform.execution.total_caps] == [(0.8, 89), (0.7, 79), (0.6, 69), (0.5, 59)]
    assert platform.scoring.lower.name == "inverse-ratio"
    assert platform.rounding.decimals == 1
    assert platform.sources[0].url and "desk33" in platform.sources[0].url
    # inherited unchanged
    assert platform.weights == mof.weights and platform.grades == mof.grades


def _write(tmp_path, data, name="custom.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def _base(mof):
    return mof.model_dump(mode="json", exclude={"extends"})


def test_unknown_key_is_an_error_with_hint(tmp_path, mof):
    data = _base(mof)
    data["roundng"] = data.pop("rounding")
    with pytest.raises(RuleSetError) as e:
        load_rules(_write(tmp_path, data))
    assert "未知的键“roundng”" in str(e.value) and "rounding" in str(e.value)


def test_unknown_nested_key_is_an_error_with_hint(tmp_path, mof):
    data = _base(mof)
    data["execution"]["totl_caps"] = []
    with pytest.raises(RuleSetError) as e:
        load_rules(_write(tmp_path, data))
    assert "execution.totl_caps" in str(e.value) and "total_caps" in str(e.value)


def test_unknown_method_is_an_error_with_hint(tmp_path, mof):
    data = _base(mof)
    data["scoring"]["lower"] = {"method": "linear-to-zer"}
    with pytest.raises(RuleSetError) as e:
        load_rules(_write(tmp_path, data))
    assert "未知的评分方法“linear-to-zer”" in str(e.value) and "linear-to-zero" in str(e.value)


def test_bad_method_parameter_is_named(tmp_path, mof):
    with pytest.raises(RuleSetError) as e:
        method_from_dict({"method": "step-deduction", "step": 5, "pointz": 2}, where="x")
    assert "pointz" in str(e.value)


def test_weights_must_add_up_to_100(tmp_path, mof):
    data = _base(mof)
    data["weights"]["groups"][0]["weight"] = 60
    with pytest.raises(RuleSetError) as e:
        load_rules(_write(tmp_path, data))
    assert "之和应为 100" in str(e.value)


def test_missing_rule_set_suggests_a_name():
    with pytest.raises(RuleSetError) as e:
        load_rules("mof-2021")
    assert "找不到规则集" in str(e.value) and "mof-2020" in str(e.value)


def test_invalid_yaml_is_located(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("id: x\n  version: : :\n", encoding="utf-8")
    with pytest.raises(RuleSetError) as e:
        load_rules(p)
    assert "YAML" in str(e.value) and "行" in str(e.value)


def test_qualitative_band_default_must_sit_in_its_range(tmp_path, mof):
    data = _base(mof)
    data["scoring"]["qualitative"]["bands"]["partial"] = {"range": [60, 80], "default": 90}
    with pytest.raises(RuleSetError):
        load_rules(_write(tmp_path, data))


@pytest.mark.parametrize("mode,decimals,x,expected", [
    ("half-up", 2, 8.615, 8.62), ("half-up", 2, 1.945, 1.95), ("half-up", 1, 1.946, 1.9), ("half-up", 0, 8.5, 9),
    ("floor", 1, 1.946, 1.9), ("floor", 1, 1.897, 1.8), ("ceil", 1, 1.81, 1.9), ("half-even", 0, 8.5, 8),
    ("half-up", 2, 8.62, 8.62), ("half-up", 0, 8.62, 9),
])
def test_rounding(mode, decimals, x, expected):
    assert Rounding(decimals=decimals, mode=mode).apply(x) == pytest.approx(expected)


@pytest.mark.parametrize("total,grade", [(100, "优"), (90, "优"), (89.99, "良"), (80, "良"), (79.5, "中"), (60, "中"),
                                         (59.99, "差"), (0, "差"), (None, None)])
def test_grades(mof, total, grade):
    assert mof.grade_for(total) == grade


@pytest.mark.parametrize("name,params,t,a,w,higher,expected", [
    ("ratio", {}, 5, 4, 10, True, 0.8),
    ("ratio", {}, 5, 6, 10, True, 1.0),
    ("ratio", {}, 0, 3, 10, True, 1.0),
    ("inverse-ratio", {}, 50, 63, 10, False, 50 / 63),
    ("inverse-ratio", {}, 50, 40, 10, False, 1.0),
    ("linear-to-zero", {}, 50, 63, 10, False, 1 - 13 / 50),
    ("linear-to-zero", {}, 50, 100, 10, False, 0.0),
    ("linear-to-zero", {}, 50, 130, 10, False, 0.0),
    ("linear-to-zero", {}, 0, 1, 10, False, 0.0),
    ("equal", {}, 0, 0, 10, True, 1.0),
    ("equal", {}, 0, 2, 10, True, 0.0),
    ("equal", {}, 100, 98, 10, True, 0.98),
    ("threshold", {}, 100, 99, 10, True, 0.0),
    ("threshold", {}, 100, 100, 10, True, 1.0),
    # 每低于5%扣2分 (分值 5): 97% → one step → 3/5
    ("step-deduction", {"step": 5, "points": 2}, 100, 97, 5, True, 3 / 5),
    ("step-deduction", {"step": 5, "points": 2}, 100, 90, 5, True, 1 / 5),
    ("step-deduction", {"step": 5, "points": 2}, 100, 80, 5, True, 0.0),
    # 每超过一个百分点扣0.5分 (在职人员控制率≤100%, 分值 5): 103% → 3.5/5
    ("step-deduction", {"step": 1, "points": 0.5, "basis": "absolute"}, 100, 103, 5, False, 3.5 / 5),
    ("banded", {"bands": [{"min_ratio": 1, "fraction": 1}, {"min_ratio": 0.8, "fraction": 0.8},
                          {"min_ratio": 0.6, "fraction": 0.6}]}, 100, 85, 10, True, 0.8),
    ("banded", {"bands": [{"min_ratio": 1, "fraction": 1}, {"min_ratio": 0.8, "fraction": 0.8}]}, 100, 50, 10, True, 0.0),
])
def test_methods(name, params, t, a, w, higher, expected):
    m = method_from_dict({"method": name, **params}, where="test")
    got = m.fraction(np.array([t], float), np.array([a], float), np.array([w], float), np.array([higher]))
    assert got[0] == pytest.approx(expected)


def test_band_method_outer_steps():
    m = method_from_dict({"method": "band", "outer": [{"within": 1.5, "fraction": 0.3}]}, where="t")
    t = np.array([100.0, 100, 100, 100])
    a = np.array([105.0, 110, 114, 120])
    got = m.fraction(t, a, np.full(4, 10.0), np.full(4, True), tol=np.full(4, 10.0))
    assert got.tolist() == [1.0, 1.0, 0.3, 0.0]


def test_every_registered_method_has_a_label():
    assert all(cls.label for cls in METHODS.values())
