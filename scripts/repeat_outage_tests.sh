#!/usr/bin/env bash
# Repeat the router's outage tests under CPU load on SQLite and PostgreSQL (not part of CI).
#   scripts/repeat_outage_tests.sh [COUNT] [BUSY_LOOPS]       COUNT repetitions (default 200), BUSY_LOOPS (default 2)
#   FOREIGN_RETRY_LOOP=1 scripts/repeat_outage_tests.sh ...   also run the integration app's retry loop on the test
#                                                             database (the flake's cause before the system got its own)
#   SELECT="..." picks other tests (pytest -k expression).
set -u
cd "$(dirname "$0")/.."
COUNT="${1:-200}"
BUSY="${2:-2}"
SELECT="${SELECT:-rasa_down_holds or live_worker}"
busy_pids=()
stop_busy() { for pid in "${busy_pids[@]}"; do kill "$pid" 2>/dev/null; done; }
trap stop_busy EXIT
for _ in $(seq "$BUSY"); do
  python3 -c 'while True: pass' &
  busy_pids+=("$!")
done
echo "repeating ${COUNT}x: ${SELECT} (busy loops: ${BUSY}, foreign retry loop: ${FOREIGN_RETRY_LOOP:-0})"
REPEAT_COUNT="$COUNT" PYTHONPATH="scripts${PYTHONPATH:+:$PYTHONPATH}" .venv/app/bin/python -m pytest -q \
  -p no:cacheprovider -p repeat_plugin -m "not integration and not browser" \
  tests/messaging/test_router.py -k "$SELECT" -W ignore::pytest.PytestUnraisableExceptionWarning 2>&1 | tail -n 15
