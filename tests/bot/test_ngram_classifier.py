"""The Rasa n-gram intent classifier, trained, persisted, loaded and run inside the real Rasa interpreter."""

from __future__ import annotations

from pathlib import Path

from rasa_python import in_rasa

# Runs in the Rasa venv (the app venv has no Rasa); prints one JSON line with what process() set.
SCRIPT = r"""
import json, sys, tempfile
from pathlib import Path
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from bot.components.ngram_classifier import NgramIntentClassifier

storage = LocalModelStorage(Path(tempfile.mkdtemp(dir=sys.argv[1])))
resource = Resource("ngram")
context = ExecutionContext(GraphSchema({}), "test")
examples = {
    "dispute_labor": ["老板拖欠工资不给", "公司不发工资怎么办", "工地包工头欠我工钱", "辞退没有补偿"],
    "dispute_family": ["老公要离婚孩子归谁", "离婚后抚养费不给", "父母的遗产怎么分", "彩礼能不能要回来"],
    "greet": ["你好", "您好", "在吗", "早上好"],
}
data = TrainingData([Message(data={"text": t, "intent": i}) for i, ts in examples.items() for t in ts])
config = {}
NgramIntentClassifier.create(config, storage, resource, context).train(data)
loaded = NgramIntentClassifier.load(config, storage, resource, context)
message = Message(data={"text": sys.argv[2]})
loaded.process([message])
import copy, numpy as np
row_major = copy.deepcopy(loaded._pipeline)
row_major[-1].coef_ = np.ascontiguousarray(row_major[-1].coef_)
same = np.array_equal(row_major.predict_proba([sys.argv[2]]), loaded._pipeline.predict_proba([sys.argv[2]]))
layout = bool(loaded._pipeline[-1].coef_.flags["F_CONTIGUOUS"]) and not row_major[-1].coef_.flags["F_CONTIGUOUS"]
print(json.dumps({"intent": message.get("intent"), "ranking": message.get("intent_ranking"), "same": same,
                  "column_major": layout}, ensure_ascii=False))
"""


def classify(tmp_path: Path, text: str) -> dict:
    return in_rasa(SCRIPT, str(tmp_path), text)


def test_trained_classifier_survives_persist_and_load(tmp_path: Path) -> None:
    result = classify(tmp_path, "厂里欠了我三个月工资")
    assert result["intent"]["name"] == "dispute_labor"
    names = [item["name"] for item in result["ranking"]]
    # Every intent stays in the ranking: the bot reads the best dispute type even under a general intent.
    assert sorted(names) == ["dispute_family", "dispute_labor", "greet"]
    assert abs(sum(item["confidence"] for item in result["ranking"]) - 1.0) < 1e-6


def test_unrelated_text_gets_no_confident_dispute(tmp_path: Path) -> None:
    result = classify(tmp_path, "您好")
    assert result["intent"]["name"] == "greet"
    labor = next(item for item in result["ranking"] if item["name"] == "dispute_labor")
    assert labor["confidence"] < 0.3


def test_loaded_weights_are_column_major_with_the_same_results(tmp_path: Path) -> None:
    # Scoring with row-major weights copied the whole matrix per message (bot/components/ngram_classifier.py).
    result = classify(tmp_path, "厂里欠了我三个月工资")
    assert result["column_major"] is True
    assert result["same"] is True
