"""Parse, validate and normalise the facts residents type (issue 3).

Residents write colloquial, often voice-dictated Chinese without punctuation. The functions here turn one
message into typed values: amounts of money (yuan), dates, phone numbers and resident ID numbers, plus a
masking helper for transcript review. Everything is a pure function: no DB, no network, no real clock (the
caller passes ``today``), nothing heavy at import time. Modules: ``money``, ``dates``, ``contacts`` (phones, IDs),
``masking``, ``facts`` (everything at once, ``warm_up``); ``text`` and ``libraries`` are their shared helpers.

Libraries:
- ``cn2an`` converts the numeric core of an amount ("两万三" -> 23000, "2万8" -> 28000, "1万5千" -> 15000).
  jionlp's ``parse_money`` is *not* used for the conversion because jionlp 1.5.31 gets colloquial forms
  wrong ("两万三" -> 20003, "2万8" -> 40016, "1万5千" -> 25000, "一千二" -> 1002) and its
  ``extract_money`` only finds amounts followed by a currency unit.
- ``jionlp`` (``jionlp.ner.extract_time`` / ``jionlp.parse_time``) parses dates relative to ``today``.
Both are imported lazily on first use and cached (jionlp takes ~0.3-0.6 s to import and prints a banner to
stdout, which we swallow).

Conventions (documented because they are choices, not facts):
- Approximate amounts return their lower bound: "三千多" -> 3000, "十来万" -> 100000, "四五千" -> 4000,
  "三万左右" -> 30000. ``AmountMatch.approximate`` says so. "几千" (no stated digit) -> no amount.
- When a message holds several amounts, ``parse_amount`` returns the first one that looks like money
  (explicit unit/multiplier or a money verb such as 借/欠/还 before it); see ``extract_amounts``.
- A date that names a whole month/year/week returns its *first* day: "去年十月" -> 2025-10-01,
  "2023年" -> 2023-01-01, "上周" -> that Monday. ``parse_date_range`` returns the whole span.
- A month/day without a year ("5月6日", "12月3号", "30号") is the most recent such day on or before
  ``today`` when ``prefer="past"`` (default; incidents), the next one on or after ``today`` for "future".
- "N个月前"/"N年前"/"N周前"/"半年前" are computed exactly from ``today`` (jionlp returns a vague span).
- Call ``warm_up()`` from a process start-up hook to pay the ~0.5 s first-call cost before residents arrive.

Known limitations: amounts in 毛/角 alone ("五毛钱") are not read; a bare number needs a money word before it
or must be the whole message; "上个月底" follows jionlp (25th onwards); phones are mainland mobiles and Quzhou
(0570) landlines only; 15-digit first-generation IDs are not accepted (they are masked, though).
"""

from __future__ import annotations

from sharedcourt.domain.values.contacts import id_number_valid, parse_id_number, parse_phone
from sharedcourt.domain.values.dates import parse_date, parse_date_range, parse_incident_date
from sharedcourt.domain.values.facts import extract_facts, warm_up
from sharedcourt.domain.values.masking import mask_personal_data
from sharedcourt.domain.values.money import AmountMatch, extract_amounts, parse_amount

__all__ = [
    "AmountMatch",
    "extract_amounts",
    "extract_facts",
    "id_number_valid",
    "mask_personal_data",
    "parse_amount",
    "parse_date",
    "parse_date_range",
    "parse_id_number",
    "parse_incident_date",
    "parse_phone",
    "warm_up",
]
