"""Load DIET for serving without tracing its training step (runs in the Rasa environment).

Rasa 3.6's `RasaModel.load` runs one Keras training step on a stored example to create the variables
before reading the weights, compiled as configured (graph mode). Tracing that training step is most of
the model load (docs/BENCHMARKS.md, "Model load") and a server never trains. Here the one step runs
eagerly (the same variables, created without a trace), the weights are read, and the model is compiled
back to its configured mode so that prediction is traced and executed exactly as before.

Only DIET: loaded this way its parses are identical to Rasa's own load (bench/bench_serving_load.py);
TED loaded this way predicted differently (a layer built only on a traced branch is the likely cause),
so TED keeps Rasa's own load.

`install()` replaces the classmethod for the running process only; the model archive is unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def install() -> None:
    """Make `RasaModel.load` create its variables eagerly; idempotent."""
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
    from rasa.utils.tensorflow.models import RasaModel

    if getattr(RasaModel.load, "_serving_load", False):
        return

    def load(
        cls: type[RasaModel],
        model_file_name: str,
        model_data_example: Any,
        predict_data_example: Any = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> RasaModel:
        if finetune_mode or cls.__name__ != "DIET":
            # Fine-tuning trains, and TED predicts differently untraced: Rasa's own path for both.
            return original.__func__(
                cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
            )
        model = cls(*args, **kwargs)
        config = kwargs.get("config", {})
        learning_rate = config.get(LEARNING_RATE, 0.001)
        # One eager step creates every variable (optimizer slots included) so the checkpoint matches.
        model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), run_eagerly=True)
        model.fit(RasaBatchDataGenerator(model_data_example, batch_size=1), verbose=False)
        model.load_weights(model_file_name)
        model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), run_eagerly=config.get(RUN_EAGERLY))
        if predict_data_example:
            # As Rasa does: trace the prediction function now, not on the first resident's message.
            model.run_inference(predict_data_example)
        logger.debug("loaded %s for serving (training step not traced)", cls.__name__)
        return model

    original = RasaModel.__dict__["load"]
    load._serving_load = True  # type: ignore[attr-defined]
    RasaModel.load = classmethod(load)  # type: ignore[method-assign,assignment]
