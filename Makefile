# Shared Court front door. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

RASA_VENV := .venv/rasa
APP_VENV := .venv/app
RASA := $(RASA_VENV)/bin/rasa
PY := $(APP_VENV)/bin/python
CLI := $(PY) -m sharedcourt.cli
RASA_STAMP := $(RASA_VENV)/.installed
APP_STAMP := $(APP_VENV)/.installed
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

# Rasa's training data (sharedcourt.cli.procs.rasa_data): nlu_data/questions is read by the intent classifier only.
RASA_DATA := $(filter-out nlu_data/questions,$(sort $(wildcard nlu_data/*))) bot/stories bot/rules

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

## ---- installation -------------------------------------------------------

# pip, minus this machine's noise about absent local index folders; pip's exit status is kept.
define pip
	set -o pipefail; $(1)/bin/pip install -q --disable-pip-version-check $(2) 2>&1 | { grep -v "WARNING: Location '" || true; }
endef

$(RASA_STAMP): requirements/rasa.txt
	@PY310=$$(scripts/find-python310.sh) && { [ -x $(RASA_VENV)/bin/python ] || $$PY310 -m venv $(RASA_VENV); }
	$(call pip,$(RASA_VENV),-r requirements/rasa.txt)
	@touch $@

$(APP_STAMP): requirements/app.txt requirements/app-nodeps.txt pyproject.toml
	@PY310=$$(scripts/find-python310.sh) && { [ -x $(APP_VENV)/bin/python ] || $$PY310 -m venv $(APP_VENV); }
	$(call pip,$(APP_VENV),-r requirements/app.txt)
	$(call pip,$(APP_VENV),--no-deps -r requirements/app-nodeps.txt)
	$(call pip,$(APP_VENV),--no-deps -e .)
	@touch $@

# ECharts from the npm registry (pinned with its integrity hash in frontend/package-lock.json), served by the app.
ECHARTS := sharedcourt/web/static/vendor/echarts.min.js
$(ECHARTS): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	cp frontend/node_modules/echarts/dist/echarts.common.min.js $@

.PHONY: install
install: $(RASA_STAMP) $(APP_STAMP) $(ECHARTS) ## make both Python 3.10 environments (pinned) and fetch ECharts

.PHONY: lock
lock: ## re-pin both environments from what is installed now
	$(RASA_VENV)/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements/rasa.txt
	$(APP_VENV)/bin/pip freeze --exclude-editable | grep -v -e '^-e' -e '^sharedcourt' -e '^dingtalk-stream==' > requirements/app.txt

.PHONY: browser
browser: ## install Debian's chromium and the CJK fonts for the browser tests (if missing)
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@fc-list 2>/dev/null | grep -qi 'noto.*cjk' || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null; }
	@chromium --version

.PHONY: haproxy
haproxy: ## install Debian's haproxy for the cluster (if missing)
	@command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; }
	@PATH="$$PATH:/usr/sbin" haproxy -v | head -1

## ---- running ------------------------------------------------------------

.PHONY: train
train: install ## train the Rasa model if its inputs changed
	$(CLI) train

.PHONY: migrate
migrate: $(APP_STAMP) ## upgrade the database schema
	$(CLI) migrate

.PHONY: run
run: install ## start Rasa, the action server and the front door (Ctrl-C stops all)
	$(CLI) run

.PHONY: cluster
cluster: install haproxy train ## two of each role behind haproxy (DATABASE_URL on PostgreSQL, Redis; Ctrl-C stops all)
	$(CLI) cluster

## ---- checks -------------------------------------------------------------

.PHONY: lint
lint: $(APP_STAMP) ## ruff (lint, format, complexity, docstrings), the layer contract, module and function sizes
	$(APP_VENV)/bin/ruff check sharedcourt actions tests bench scripts
	$(APP_VENV)/bin/ruff format --check sharedcourt actions tests bench scripts
	$(APP_VENV)/bin/lint-imports
	$(PY) scripts/check_sizes.py sharedcourt actions

.PHONY: format
format: $(APP_STAMP) ## format the code
	$(APP_VENV)/bin/ruff format sharedcourt actions tests bench scripts
	$(APP_VENV)/bin/ruff check --fix sharedcourt actions tests bench scripts

.PHONY: types
types: $(APP_STAMP) ## mypy on our code
	$(APP_VENV)/bin/mypy

.PHONY: validate
validate: $(RASA_STAMP) ## rasa data validate
	$(RASA) data validate --domain bot/domain --data $(RASA_DATA) --config bot/config.yml

.PHONY: test-stories
test-stories: train ## Rasa story tests, failing on any wrong prediction
	$(RASA) test core --model $$($(CLI) train) --stories tests/stories --endpoints bot/endpoints.yml \
	  --fail-on-prediction-errors --out results/stories --no-plot

.PHONY: pytest
pytest: install browser haproxy train ## the pytest suite (SQLite and PostgreSQL, real Rasa, real browser, haproxy)
	$(PY) -m pytest -q -p no:cacheprovider

.PHONY: test-cluster
test-cluster: install haproxy train ## the cluster under load while members are SIGKILLed (CLUSTER_RESIDENTS, CLUSTER_MESSAGES)
	$(PY) -m pytest -q -s -p no:cacheprovider -m cluster tests/cluster

.PHONY: test
test: install lint types validate test-stories pytest test-cluster eval-lawbench ## everything CI runs

.PHONY: eval-lawbench
eval-lawbench: train ## NLU evaluation on ../shared/eval/lawbench_dev.csv when that file is present
	@if [ -f ../shared/eval/lawbench_dev.csv ]; then $(CLI) eval-nlu --data ../shared/eval/lawbench_dev.csv; \
	  else echo "../shared/eval/lawbench_dev.csv not present: evaluation skipped"; fi

.PHONY: eval-faq
eval-faq: $(APP_STAMP) ## 普法 knowledge base on eval/faq: right entry first, declined correctly (JSON last line)
	$(CLI) eval-faq

.PHONY: eval-nlu
eval-nlu: train ## evaluate the NLU on DATA=<csv with text,code>
	@test -n "$(DATA)" || { echo "usage: make eval-nlu DATA=file.csv"; exit 2; }
	$(CLI) eval-nlu --data "$(DATA)"

.PHONY: tune-unsure
tune-unsure: $(APP_STAMP) ## top-3, calibration and ask-or-answer figures on the held-out dev split; thresholds meeting the goals
	$(CLI) tune-unsure

.PHONY: parse
parse: train ## what the assistant understands from TEXT="..." (JSON last line)
	@test -n "$(TEXT)" || { echo 'usage: make parse TEXT="..."'; exit 2; }
	@$(CLI) parse "$(TEXT)"

.PHONY: sites-import
sites-import: $(APP_STAMP) ## import the site registry from FILE=<csv> (all or nothing)
	@test -n "$(FILE)" || { echo "usage: make sites-import FILE=sites.csv"; exit 2; }
	$(CLI) migrate && $(CLI) sites-import "$(FILE)"

.PHONY: sites-default
sites-default: $(APP_STAMP) ## load the province's default registry for SERVED_CITIES into the database
	$(CLI) migrate && $(CLI) sites-import sharedcourt/data/sites_zj.csv.gz --served

.PHONY: site-qr-scenes
site-qr-scenes: $(APP_STAMP) ## list each site's WeChat QR scene value (its registry key) as CSV on stdout
	@$(CLI) site-qr-scenes

.PHONY: sites-export
sites-export: $(APP_STAMP) ## export the site registry to FILE=<csv>
	@test -n "$(FILE)" || { echo "usage: make sites-export FILE=sites.csv"; exit 2; }
	$(CLI) sites-export "$(FILE)"

.PHONY: roster-import
roster-import: $(APP_STAMP) ## replace the duty roster from FILE=<csv> (all or nothing, every bad row listed)
	@test -n "$(FILE)" || { echo "usage: make roster-import FILE=roster.csv"; exit 2; }
	$(CLI) migrate && $(CLI) roster-import "$(FILE)"

.PHONY: roster-export
roster-export: $(APP_STAMP) ## export the duty roster to FILE=<csv>
	@test -n "$(FILE)" || { echo "usage: make roster-export FILE=roster.csv"; exit 2; }
	$(CLI) roster-export "$(FILE)"

.PHONY: roster-seed
roster-seed: $(APP_STAMP) ## fill an empty duty roster from sharedcourt/data/roster.yml (or FILE=<yml>)
	$(CLI) migrate && $(CLI) roster-seed $(if $(FILE),--file "$(FILE)")

.PHONY: staff-add
staff-add: $(APP_STAMP) ## create a console account: USERNAME=… ROLE=… [SCOPE=site key or county code] [NAME=…]; password from PASSWORD or a prompt
	@test -n "$(USERNAME)" -a -n "$(ROLE)" || { echo "usage: make staff-add USERNAME=zhangsan ROLE=mediator SCOPE=GX330802005 [NAME=张三]"; exit 2; }
	$(CLI) migrate && $(CLI) staff-add --username "$(USERNAME)" --role "$(ROLE)" --scope "$(SCOPE)" --display-name "$(NAME)"

.PHONY: demo-data
demo-data: $(APP_STAMP) ## add a synthetic month (marked) so the console shows something; REMOVE=1 deletes exactly it; SEED=…
	$(CLI) migrate && $(CLI) demo-data $(if $(filter 1,$(REMOVE)),--remove) $(if $(SEED),--seed "$(SEED)")

.PHONY: wechat-menu
wechat-menu: $(APP_STAMP) ## create the WeChat Official Account menu (WECHAT_APPID/WECHAT_SECRET from .env)
	$(CLI) wechat-menu

.PHONY: purge
purge: $(APP_STAMP) ## delete or anonymise records past their retention period (DRY_RUN=1: only count)
	$(CLI) migrate && $(CLI) purge $(if $(filter 1,$(DRY_RUN)),--dry-run)

.PHONY: bench
bench: install train haproxy ## run the benchmarks in bench/ (results go to docs/BENCHMARKS.md by hand)
	@for b in bench/bench_*.py; do [ $$b = bench/bench_model_load.py ] && continue; echo "== $$b"; $(PY) $$b || exit 1; done
	@echo "== bench/bench_model_load.py (Rasa's environment)"; $(RASA_VENV)/bin/python bench/bench_model_load.py

.PHONY: clean
clean: ## remove trained models, results and caches (never the database, evidence files or logs)
	rm -rf models results .mypy_cache .ruff_cache .pytest_cache
	find sharedcourt actions tests bench scripts bot -name __pycache__ -type d -prune -exec rm -rf {} +

# var/ holds the SQLite database, evidence files (EVIDENCE_DIR's default) and logs: deleted only when asked.
.PHONY: clean-data
clean-data: ## delete var/ (database, evidence files, logs) after typing yes; CONFIRM=yes when not a terminal
	@if [ "$(CONFIRM)" != yes ]; then \
	  if [ ! -t 0 ]; then echo "refused: not a terminal; CONFIRM=yes make clean-data deletes var/" >&2; exit 2; fi; \
	  read -r -p "Delete var/ (the local database, evidence files and logs)? Type yes: " answer; \
	  if [ "$$answer" != yes ]; then echo "nothing deleted" >&2; exit 1; fi; \
	fi
	rm -rf var
