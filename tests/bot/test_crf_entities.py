"""bot/components/crf_entities.py: the stored taggers give the entities Rasa's retrained CRF gives."""

from __future__ import annotations

import json
import tarfile

import pytest
from rasa_python import in_rasa

from sharedcourt.cli.procs import ROOT, model_path

TEXTS = [
    "老板欠我六千块工资",
    "包工头拖了两万三 电话13857012345",
    "隔壁老王占了我家的地",
    "前夫不给抚养费",
    "给5分",
    "打4分",
    "我在龙游湖镇的厂里上班",
    "你好",
]

# The model loaded twice in one interpreter: with the stored taggers, then with Rasa's own load (which trains
# the CRF again from the stored training set); every text's entities (value, span, confidence) from each.
SCRIPT = r"""
import asyncio, json, sys, time
sys.path.insert(0, ".")
from rasa.core.agent import load_agent
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor
from bot.components.crf_entities import StoredCRFEntityExtractor

model, texts = sys.argv[1], json.loads(sys.argv[2])

async def entities():
    started = time.monotonic()
    agent = await load_agent(model_path=model)
    took = time.monotonic() - started
    out = []
    for text in texts:
        parsed = await agent.parse_message(text)
        out.append([[e["entity"], e["value"], e["start"], e["end"], round(e.get("confidence_entity") or 0, 6)]
                    for e in parsed["entities"] if e.get("extractor") == "StoredCRFEntityExtractor"])
    return out, took

stored, stored_s = asyncio.run(entities())
StoredCRFEntityExtractor.load = classmethod(lambda cls, *a, **k: CRFEntityExtractor.load.__func__(cls, *a, **k))
retrained, retrained_s = asyncio.run(entities())
print(json.dumps({"stored": stored, "retrained": retrained, "seconds": [stored_s, retrained_s]}, ensure_ascii=False))
"""


def test_stored_taggers_give_the_retrained_crfs_entities() -> None:
    model = model_path(ROOT)
    if not model.exists():
        pytest.fail(f"{model} missing: run `make train` first")
    with tarfile.open(model) as archive:
        assert any(name.endswith("crf_taggers.pkl") for name in archive.getnames())
    out = in_rasa(SCRIPT, str(model), json.dumps(TEXTS, ensure_ascii=False), timeout=600)
    assert out["stored"] == out["retrained"]
    assert ["party", "老板", 0, 2] == out["stored"][0][0][:4]  # 老板 is the other party
    assert [e[0] for e in out["stored"][4]] == ["rating"]
    assert out["stored"][-1] == []  # a greeting names no one
