"""Benchmark: where loading the Rasa model goes (run in the Rasa environment, not the app's).

Each step is timed in a fresh interpreter, in the order `rasa run` does it:

1. the imports `rasa run` needs: `rasa.__main__` (the CLI), TensorFlow, `rasa.core.agent` and the server modules;
2. unpacking the model archive into a temporary directory (`LocalModelStorage.from_model_archive`);
3. loading the predict graph: every component's `load` (timed one by one), through `rasa.core.agent.load_agent`,
   which also reads the domain;
4. the first parse (TensorFlow builds its functions on first use), then the median of 20 parses and of 20 dialogue
   predictions (a fresh sender each: the policies run, no action is executed).

`--eager` loads DIET and TED with `run_eagerly: true` (no graph tracing at load; the same weights) to measure
what tracing costs at load against what eager execution costs per message. `--serving` loads them as
`bot/boot/rasa_run.py` does (bot/boot/serving_load.py: the one training step at load runs eagerly, prediction
stays traced). The JSON file also holds the parse of a fixed list of texts and the dialogue predictions, so two
runs can be compared for identical answers (bench/bench_serving_load.py does both side by side).

Printed as a table (seconds); `--json FILE` writes the figures. It loads the model in-process only: no server,
no port, nothing else is started.

Usage: .venv/rasa/bin/python bench/bench_model_load.py [--model models/x.tar.gz] [--eager|--serving] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


def timed_import(figures: dict[str, float], name: str, module: str) -> None:
    """Import `module` and record how long it took beyond what was imported before."""
    started = time.perf_counter()
    __import__(module)
    figures[name] = time.perf_counter() - started


def component_timer(figures: dict[str, float], eager: bool) -> None:
    """Wrap GraphNode._load_component so every component's load is timed under its node name."""
    from rasa.engine.graph import GraphNode

    original = GraphNode._load_component
    if eager:
        init = GraphNode.__init__

        def eager_init(self: Any, *args: Any, **kwargs: Any) -> None:
            # Before init: an eager node loads its component inside __init__.
            component = kwargs.get("component_class")
            if component is not None and "run_eagerly" in component.get_default_config():
                kwargs["component_config"] = {**(kwargs.get("component_config") or {}), "run_eagerly": True}
            init(self, *args, **kwargs)

        GraphNode.__init__ = eager_init  # type: ignore[method-assign]

    def timed(self: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        original(self, **kwargs)
        figures[f"load {self._node_name}"] = time.perf_counter() - started

    GraphNode._load_component = timed  # type: ignore[method-assign]


TEXTS = (
    "邻居装修把我家墙震裂了",
    "老板欠我六千块工资不给",
    "离婚后孩子抚养费一般怎么算",
    "我住在衢州市柯城区白云街道",
    "电话13812345678",
    "张三借了我两万块钱，说好去年还",
    "物业费涨了我不想交",
    "你好",
    "谢谢",
    "我要找法官",
)


def parse_summary(parsed: dict[str, Any]) -> dict[str, Any]:
    """What a comparison needs of a parse: the intent ranking and the entities, rounded past float noise."""
    return {
        "ranking": [[r["name"], round(float(r["confidence"]), 4)] for r in parsed.get("intent_ranking", [])[:5]],
        "entities": sorted((e["entity"], str(e["value"]), e.get("extractor", "")) for e in parsed.get("entities", [])),
    }


async def load_and_parse(model: Path, figures: dict[str, Any], eager: bool) -> None:
    """Unpack alone (to time it), then load the agent as `rasa run` does, then parse once."""
    from rasa.core.agent import load_agent
    from rasa.core.channels.channel import UserMessage
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        LocalModelStorage.from_model_archive(Path(tmp), model)
        figures["unpack the archive (alone)"] = time.perf_counter() - started
    loads: dict[str, float] = {}
    component_timer(loads, eager)
    started = time.perf_counter()
    agent = await load_agent(model_path=str(model))
    figures["load_agent (unpack + domain + every component)"] = time.perf_counter() - started
    figures.update(dict(sorted(loads.items(), key=lambda kv: -kv[1])))
    started = time.perf_counter()
    await agent.parse_message("邻居装修把我家墙震裂了")
    figures["first parse"] = time.perf_counter() - started
    started = time.perf_counter()
    await agent.parse_message("老板欠我六千块工资")
    figures["second parse"] = time.perf_counter() - started
    figures["parse, median of 20"] = await median_of(20, lambda i: agent.parse_message(f"老板欠我{i + 1}千块工资"))

    async def predict(i: int) -> Any:
        sender = f"load-{i}"
        await agent.processor.log_message(
            UserMessage("邻居装修把我家墙震裂了", sender_id=sender), should_save_tracker=True
        )
        started = time.perf_counter()
        await agent.processor.predict_next_for_sender_id(sender)
        return time.perf_counter() - started

    times = [await predict(i) for i in range(21)]
    figures["dialogue prediction (policies), median of 20"] = sorted(times[1:])[10]
    figures["parses"] = {text: parse_summary(await agent.parse_message(text)) for text in TEXTS}
    predictions = {}
    for i, text in enumerate(TEXTS):
        sender = f"compare-{i}"
        await agent.processor.log_message(UserMessage(text, sender_id=sender), should_save_tracker=True)
        prediction = await agent.processor.predict_next_for_sender_id(sender)
        best = max(prediction.get("scores") or [{"action": None, "score": 0.0}], key=lambda s: s["score"])
        predictions[text] = [prediction.get("policy"), best["action"], round(float(best["score"]), 4)]
    figures["predictions"] = predictions


async def median_of(n: int, call: Any) -> float:
    """Median wall time of n awaited calls."""
    times = []
    for i in range(n):
        started = time.perf_counter()
        await call(i)
        times.append(time.perf_counter() - started)
    return sorted(times)[n // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    mode_group = parser.add_mutually_exclusive_group()
    mode_group.add_argument("--eager", action="store_true")
    mode_group.add_argument("--serving", action="store_true")
    args = parser.parse_args()
    model = args.model or sorted((ROOT / "models").glob("*.tar.gz"))[-1]
    os.chdir(ROOT)  # the pipeline names bot.components.* and nlu_data paths relative to the project
    sys.path.insert(0, str(ROOT))
    figures: dict[str, Any] = {}
    started = time.perf_counter()
    timed_import(figures, "import rasa.__main__ (the CLI)", "rasa.__main__")
    timed_import(figures, "import tensorflow", "tensorflow")
    timed_import(figures, "import rasa.core.agent", "rasa.core.agent")
    timed_import(figures, "import rasa.core.run (server)", "rasa.core.run")
    timed_import(figures, "import the pipeline's modules", "rasa.nlu.classifiers.diet_classifier")
    figures["all imports"] = time.perf_counter() - started
    if args.serving:
        sys.path.insert(0, str(ROOT / "bot" / "boot"))
        from serving_load import install

        install()
    asyncio.run(load_and_parse(model, figures, args.eager))
    figures["total"] = time.perf_counter() - started
    mode = "eager" if args.eager else "serving (untraced training step)" if args.serving else "as trained (graph)"
    print(f"model {model.name} ({model.stat().st_size / 1e6:.1f} MB), {mode}, load average {os.getloadavg()[0]:.1f}")
    for name, seconds in figures.items():
        if isinstance(seconds, float):
            print(f"{name:60s} {seconds:7.2f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
