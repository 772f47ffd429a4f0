"""Start `rasa` with its JWT secret taken from the environment (runs in the Rasa environment, not the app's).

Rasa 3.6 reads `--jwt-secret` from argv only; appending it in-process keeps it out of `ps` and
/proc/<pid>/cmdline. The `--jwt-secret=<value>` form survives a secret that starts with `-`.
"""

import os
import sys

if __name__ == "__main__":
    secret = os.environ.pop("RASA_JWT_SECRET", "")
    if not secret:
        sys.exit("RASA_JWT_SECRET is empty: run `make run` (it generates .env) or set it")
    import action_results  # this script's own folder is first on sys.path
    import event_types
    import keepalive
    import serving_load
    import slot_copy
    import tracker_sql
    from rasa.__main__ import main  # after the check: a refusal needs no 20 s of Rasa imports

    serving_load.install()
    action_results.install()
    event_types.install()
    slot_copy.install()
    keepalive.install()
    tracker_sql.install()
    sys.argv = ["rasa", *sys.argv[1:], f"--jwt-secret={secret}"]
    sys.exit(main())
