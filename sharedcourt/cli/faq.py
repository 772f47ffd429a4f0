"""`eval-faq` and `faq-threshold`: the 普法 knowledge base's figures (issue 15), JSON on the last line."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from sharedcourt.db.session import make_engine, make_sessionmaker
from sharedcourt.faq import export
from sharedcourt.faq.answer import KnowledgeBase
from sharedcourt.faq.entries import Entry, shipped
from sharedcourt.faq.evaluation import (
    EvalSet,
    choose_threshold,
    decline_lower_bound,
    dev_answerable,
    dev_declines,
    evaluate,
    load_eval,
    load_judgements,
)
from sharedcourt.faq.live import merged_entries
from sharedcourt.settings import ROOT, Settings

EVAL_FILE = ROOT / "eval" / "faq" / "questions.yml"
JUDGEMENTS_FILE = ROOT / "eval" / "faq" / "judgements.yml"


def eval_faq(args: argparse.Namespace) -> int:
    """Right entry first and declined correctly on the evaluation set, and the entries per dispute type."""
    entries = shipped()
    kb = KnowledgeBase(entries)
    report = evaluate(kb, load_eval(Path(args.data), set(kb.by_id)))
    judged = load_judgements(JUDGEMENTS_FILE) if JUDGEMENTS_FILE.exists() else []
    relevant = sum(j.relevant for j in judged)
    if args.verbose:
        print("\n".join(report.misses))
    per_type: dict[str, int] = {}
    for entry in entries:
        per_type[entry.dispute] = per_type.get(entry.dispute, 0) + 1
    print(f"entries: {len(entries)} ({', '.join(f'{k} {v}' for k, v in sorted(per_type.items()))})")
    strict = f"{report.right_first}/{report.answerable} = {report.right_first_rate:.1%}"
    print(f"right entry first, strict (expected entry): {strict}")
    print(
        f"right entry first, pooled (expected or judged relevant): {report.right_first_pooled}/{report.answerable}"
        f" = {report.right_first_pooled_rate:.1%} (goal 85%; {relevant} of {len(judged)} pooled pairs judged relevant)"
    )
    print(f"declined correctly: {report.declined}/{report.declines} = {report.declined_rate:.1%} (goal 90%)")
    print(f"decline threshold: {report.threshold}")
    pooling = {"judged": len(judged), "relevant": relevant}
    print(json.dumps({**report.as_json(len(entries)), "pooling": pooling, "per_type": per_type}, ensure_ascii=False))
    return 0


def faq_threshold(args: argparse.Namespace) -> int:
    """The decline threshold the dev split chooses, with the rates around it."""
    declines = dev_declines()
    chosen, reports = choose_threshold(shipped(), declines)
    for r in reports:
        mark = " <- chosen" if r.threshold == chosen else ""
        bound = decline_lower_bound(r.declined, r.declines)
        print(
            f"{r.threshold:.2f}  held-out paraphrases right first {r.right_first_rate:.1%}"
            f"  declined {r.declined_rate:.1%} (lower bound {bound:.1%}){mark}"
        )
    dev = evaluate(KnowledgeBase(shipped(), threshold=chosen), EvalSet(dev_answerable(), declines))
    print(
        f"at {chosen}: dev answerable right first {dev.right_first}/{dev.answerable} = {dev.right_first_rate:.1%},"
        f" dev declines declined {dev.declined}/{dev.declines} = {dev.declined_rate:.1%}"
    )
    print(json.dumps({"threshold": chosen, "dev_right_first": round(dev.right_first_rate, 4)}))
    return 0


async def _merged(url: str) -> list[Entry]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            return await merged_entries(session)
    finally:
        await engine.dispose()


def faq_export(args: argparse.Namespace) -> int:
    """Write the knowledge base with the console's edits as `<code>.yml` files, for review and commit as data."""
    entries = asyncio.run(_merged(args.database_url or Settings.from_env().database_url))
    written = export.write(entries, Path(args.out))
    edited = sum(1 for e in entries if e.file == "console")
    print(f"{len(entries)} entries ({edited} from the console) in {len(written)} files under {args.out}")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the two subcommands."""
    p = sub.add_parser("eval-faq", help="evaluate the 普法 knowledge base on eval/faq (JSON last line)")
    p.add_argument("--data", default=str(EVAL_FILE))
    p.add_argument("-v", "--verbose", action="store_true", help="print every miss")
    p.set_defaults(func=eval_faq)
    p = sub.add_parser("faq-export", help="write the 普法 entries, console edits included, as reviewed YAML files")
    p.add_argument("--out", default=str(ROOT / "var" / "faq-export"), help="folder (sharedcourt/data/faq to replace)")
    p.add_argument("--database-url", default=None, help="default: DATABASE_URL")
    p.set_defaults(func=faq_export)
    p = sub.add_parser("faq-threshold", help="choose the decline threshold on the dev split")
    p.set_defaults(func=faq_threshold)
