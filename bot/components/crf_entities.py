"""Rasa's CRF entity extractor, keeping its trained taggers in the model (runs in the Rasa environment).

Rasa 3.6's `CRFEntityExtractor` stores only its training set in the model and trains the CRF again every time the
model is loaded: 3.5 s of a 13 s load here (bench/bench_model_load.py). This subclass also stores the trained
taggers (sklearn-crfsuite's CRF pickles its model file) and loads them when present; a model without them (trained
before) loads as Rasa's does. Training, features and predictions are Rasa's own.
"""

from __future__ import annotations

import pickle
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor, CRFToken
from rasa.shared.utils.io import read_json_file

TAGGERS = "crf_taggers.pkl"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class StoredCRFEntityExtractor(CRFEntityExtractor):
    """`CRFEntityExtractor` whose load reads the trained taggers instead of training them again."""

    def persist(self, dataset: list[list[CRFToken]]) -> None:
        """Rasa's files (training set, tagger order), and the trained taggers."""
        super().persist(dataset)
        if self.entity_taggers:
            with self._model_storage.write_to(self._resource) as directory:
                # Our own model archive, written by this component: pickle is safe to read back in load().
                (directory / TAGGERS).write_bytes(pickle.dumps(self.entity_taggers))

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CRFEntityExtractor:
        """The stored taggers when the model has them, else Rasa's load (which trains them)."""
        try:
            with model_storage.read_from(resource) as directory:
                if (directory / TAGGERS).exists():
                    taggers = pickle.loads((directory / TAGGERS).read_bytes())  # our own archive, see persist()
                    extractor = cls(config, model_storage, resource, taggers)
                    extractor.crf_order = read_json_file(directory / "crf_order.json")
                    return extractor
        except ValueError:
            pass  # no stored resource (nothing to train on): Rasa's load makes an untrained extractor
        return super().load(config, model_storage, resource, execution_context, **kwargs)
