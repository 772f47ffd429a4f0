"""Tests for sharedcourt.cli.evaluation: metrics, CSV loading, parse mapping and the baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sharedcourt.cli import evaluation
from sharedcourt.cli.evaluation import (
    NO_CODE,
    Row,
    code_from_parse,
    evaluate,
    load_csv,
    load_training_data,
    save_confusion_png,
    score,
    strip_entities,
    train_baseline,
)


def test_score_known_confusion() -> None:
    # gold labor x3, debt x2; one labor predicted as debt.
    golds = ["labor", "labor", "labor", "debt", "debt"]
    preds = ["labor", "labor", "debt", "debt", "debt"]
    report = score(golds, preds)
    assert report.n == 5
    assert report.accuracy == pytest.approx(0.8)
    labor = report.per_type["labor"]
    debt = report.per_type["debt"]
    assert labor.precision == 1.0
    assert labor.recall == pytest.approx(2 / 3)
    assert labor.support == 3
    assert labor.f1 == pytest.approx(0.8)
    assert debt.precision == pytest.approx(2 / 3)
    assert debt.recall == 1.0
    assert debt.f1 == pytest.approx(0.8)
    assert report.macro_f1 == pytest.approx(0.8)
    # Labels follow the order of the codes in disputes.py; rows are gold, columns predicted.
    assert report.labels == ["labor", "debt"]
    assert report.confusion == [[2, 1], [0, 2]]


def test_macro_f1_only_over_gold_types() -> None:
    # `family` is only ever predicted: it counts in the matrix, not in the macro average.
    report = score(["labor", "labor"], ["labor", "family"])
    assert report.per_type["family"].f1 == 0.0
    assert report.per_type["labor"].f1 == pytest.approx(2 / 3)
    assert report.macro_f1 == pytest.approx(2 / 3)
    assert "family" in report.labels


def test_evaluate_maps_none_to_no_code() -> None:
    rows = [Row("a", "labor"), Row("b", "criminal")]
    report = evaluate(rows, lambda text: "labor" if text == "a" else None)
    assert report.accuracy == 0.5
    assert NO_CODE in report.labels
    assert report.errors == [("b", "criminal", NO_CODE)]
    text = report.to_text()
    assert "accuracy=0.500" in text and "criminal" in text


def test_load_csv_skips_unknown_codes(tmp_path: Path) -> None:
    path = tmp_path / "eval.csv"
    path.write_text(
        "id,text,code\n1,老板欠工资,labor\n2,随便问问,weather\n3,借钱不还,debt\n4,,labor\n",
        encoding="utf-8",
    )
    rows, skipped = load_csv(path)
    assert rows == [Row("老板欠工资", "labor"), Row("借钱不还", "debt")]
    assert [(s.line, s.code, s.reason) for s in skipped] == [(3, "weather", "unknown code"), (5, "labor", "empty text")]


def test_load_csv_requires_columns(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("question,label\nx,labor\n", encoding="utf-8")
    with pytest.raises(ValueError):
        load_csv(path)


def test_code_from_parse_takes_best_dispute_intent() -> None:
    parse = {
        "intent": {"name": "inform", "confidence": 0.6},
        "intent_ranking": [
            {"name": "inform", "confidence": 0.6},
            {"name": "dispute_debt", "confidence": 0.25},
            {"name": "dispute_labor", "confidence": 0.1},
            {"name": "greet", "confidence": 0.05},
        ],
    }
    assert code_from_parse(parse) == ("debt", 0.25)


def test_code_from_parse_top_intent_and_fallback() -> None:
    assert code_from_parse({"intent": {"name": "dispute_criminal", "confidence": 0.9}}) == ("criminal", 0.9)
    fallback = {
        "intent": {"name": "nlu_fallback", "confidence": 0.3},
        "intent_ranking": [
            {"name": "nlu_fallback", "confidence": 0.3},
            {"name": "dispute_other_legal", "confidence": 0.2},
        ],
    }
    assert code_from_parse(fallback) == ("other_legal", 0.2)
    assert code_from_parse({"intent": {"name": "greet", "confidence": 1.0}, "intent_ranking": []}) == (None, 0.0)
    assert code_from_parse({}) == (None, 0.0)


def test_strip_entities() -> None:
    assert strip_entities("[老板](party)欠我[两万三](amount)") == "老板欠我两万三"
    assert strip_entities('在[江山](county){"entity": "county", "value": "江山市"}贺村') == "在江山贺村"


def test_load_training_data_reads_dispute_intents(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.yml").write_text(
        'version: "3.1"\nnlu:\n  - intent: dispute_labor\n    examples: |\n      - [老板](party)欠工资\n'
        "      - 没签合同\n  - intent: greet\n    examples: |\n      - 你好\n"
        "  - lookup: place\n    examples: |\n      - 贺村\n",
        encoding="utf-8",
    )
    texts, codes = load_training_data(tmp_path)
    assert texts == ["老板欠工资", "没签合同"]
    assert codes == ["labor", "labor"]


def test_baseline_on_tiny_dataset() -> None:
    texts = ["老板欠工资不发", "公司拖欠工资", "加班费不给", "朋友借钱不还", "借条丢了钱要不回来", "欠钱不还怎么办"]
    codes = ["labor", "labor", "labor", "debt", "debt", "debt"]
    baseline = train_baseline(texts, codes)
    assert baseline("老板拖欠工资") == "labor"
    assert baseline("借钱不还") == "debt"
    assert baseline.predict_many(["工资", "借条"]) == ["labor", "debt"]
    with pytest.raises(ValueError):
        train_baseline(["a", "b"], ["labor", "labor"])


def test_save_confusion_png(tmp_path: Path) -> None:
    report = score(["labor", "debt"], ["labor", "labor"], name="t")
    out = save_confusion_png(report, tmp_path / "deep" / "c.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_main_prints_json_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "eval.csv"
    data.write_text("text,code\n老板不发工资,labor\n朋友借钱不还,debt\n天气,weather\n", encoding="utf-8")
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "d.yml").write_text(
        'version: "3.1"\nnlu:\n  - intent: dispute_labor\n    examples: |\n      - 老板欠工资\n      - 工资不发\n'
        "  - intent: dispute_debt\n    examples: |\n      - 借钱不还\n      - 欠钱不还\n",
        encoding="utf-8",
    )

    async def fake_parse_all(url: str, jwt_secret: str, texts: list[str], concurrency: int) -> list[dict[str, object]]:
        assert jwt_secret == "t"
        return [{"intent": {"name": "dispute_labor", "confidence": 0.9}, "intent_ranking": []} for _ in texts]

    monkeypatch.setattr(evaluation, "_parse_all", fake_parse_all)
    png = tmp_path / "c.png"
    rc = evaluation.main(
        [
            "--data",
            str(data),
            "--rasa-url",
            "http://127.0.0.1:9",
            "--jwt-secret",
            "t",
            "--nlu-data",
            str(nlu),
            "--png",
            str(png),
            "--confident=0.95",
            "--margin=0.1",
            "--choices=2",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(out[-1])
    reliability = summary.pop("reliability")
    assert summary == {
        "n": 2,
        "accuracy": 0.5,
        "macro_f1": pytest.approx(1 / 3, abs=1e-4),
        "baseline_accuracy": 1.0,
        "baseline_macro_f1": 1.0,
        # Both read as labor at 0.9, below the confidence threshold: both asked, the labor one covered.
        "top3": 0.5,
        "ece": 0.4,
        "confident": 0.95,
        "margin": 0.1,
        "choices": 2,
        "asked": 1.0,
        "coverage": 0.5,
        "confident_wrong": 0.0,
        "wrong_above_confident": 0.0,
    }
    assert reliability[9] == [0.9, 2, 0.9, 0.5] and sum(b[1] for b in reliability) == 2
    assert png.exists()
