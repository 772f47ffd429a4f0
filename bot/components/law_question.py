"""Turns a short question about the law into the intent `ask_law` (issue 15), keeping the dispute ranking.

The n-gram classifier names a question's topic ("工伤赔偿标准是多少" -> dispute_labor) because its training data
labels consultation questions by dispute type. `sharedcourt.faq.questions.is_law_question` adds the speech
act; when it holds and the classifier's top intent is a dispute type (or a bare `inform`), `ask_law` leads
the ranking at 0.9 and every other intent follows in the same order at a tenth of its confidence, so the
intake can still read the best dispute type from the ranking when the resident then asks for mediation.
Runs after NgramIntentClassifier and before FallbackClassifier (bot/config.yml); nothing to train.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from sharedcourt.faq.questions import is_law_question

ASK_LAW = "ask_law"
CONFIDENCE = 0.9


def rerouted(intent: dict[str, Any] | None, ranking: list[dict[str, Any]], text: str) -> list[dict[str, Any]] | None:
    """The new ranking when the message is a question about the law, else None."""
    name = str((intent or {}).get("name") or "")
    if not (name.startswith("dispute_") or name == "inform") or not is_law_question(text):
        return None
    rest = [
        {"name": r["name"], "confidence": float(r["confidence"]) * (1 - CONFIDENCE)}
        for r in ranking
        if r.get("name") != ASK_LAW
    ]
    return [{"name": ASK_LAW, "confidence": CONFIDENCE}, *rest]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class LawQuestionRouter(GraphComponent, IntentClassifier):
    """Sets `ask_law` as the intent of short questions about the law."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LawQuestionRouter:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            ranking = rerouted(message.get(INTENT), list(message.get(INTENT_RANKING_KEY) or []), str(message.get(TEXT) or ""))
            if ranking is not None:
                message.set(INTENT, ranking[0], add_to_output=True)
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
