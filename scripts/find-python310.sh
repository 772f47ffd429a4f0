#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter, or explain how to get one and fail.
set -euo pipefail
is310() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; }
for candidate in "${PYTHON310:-}" python3.10; do
  [ -n "$candidate" ] || continue
  path=$(command -v "$candidate" 2>/dev/null || true)
  if [ -n "$path" ] && is310 "$path"; then echo "$path"; exit 0; fi
done
if command -v pyenv >/dev/null 2>&1; then
  for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.[0-9]+)?$' | sort -t. -k3 -n -r); do
    path="$(pyenv prefix "$version")/bin/python3.10"
    if [ -x "$path" ] && is310 "$path"; then echo "$path"; exit 0; fi
  done
fi
for path in /usr/bin/python3.10 /usr/local/bin/python3.10 "$HOME"/.pyenv/versions/3.10*/bin/python3.10; do
  if [ -x "$path" ] && is310 "$path"; then echo "$path"; exit 0; fi
done
cat >&2 <<'MSG'
Python 3.10 is required (Rasa 3.6 supports Python 3.8-3.10 only) and none was found.
Install one, then run make again:
  pyenv install 3.10.13        # with pyenv
  or: apt-get install python3.10 python3.10-venv
  or: set PYTHON310=/path/to/python3.10
MSG
exit 1
