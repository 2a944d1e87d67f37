# Everything installs itself: a fresh clone needs only python3 and make.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test test-floors lint format bench clean schema chromium git checkov semgrep graphiql

# Installs say what they do (pip's own progress, not -q): a first run takes a minute or more.
PIP_FLAGS := --disable-pip-version-check --progress-bar on

$(STAMP): pyproject.toml
	@echo "== installing Panoptica's dependencies into $(VENV) (first run: about a minute)"
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) --upgrade pip
	$(PY) -m pip install $(PIP_FLAGS) -e '.[dev,sandbox]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# GraphiQL's scripts and styles, from the npm registry (pinned versions and integrity), served by us at /graphql.
GRAPHIQL := api/graphql/static/.pins
$(GRAPHIQL): tools/fetch_graphiql.py
	python3 tools/fetch_graphiql.py
	@touch $@

graphiql: $(GRAPHIQL)

# Every scanner the demo's walkthrough uses is installed first (IaC needs checkov, SAST semgrep, history git), so
# no demo scan is PARTIAL for a missing tool. Data (database, secret-hash key) stays in ./var; PORT=8001 moves it.
PORT ?= 8000
run: $(STAMP) $(GRAPHIQL) .venv-checkov/bin/checkov .venv-semgrep/bin/semgrep git
	PANOPTICA_HOME="$(CURDIR)/var" $(VENV)/bin/panoptica serve --sandbox --port $(PORT)

# pyright: standard mode on core, api and bot, strict on the seams ([tool.pyright] in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pyright --pythonpath $(PY)

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The browser tests (tests/browser) drive Debian's Chromium; Playwright never downloads a browser.
# Installed from the distribution's packages when missing (as root, like CI).
chromium:
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# The history scan (core/history) and the emulator's git server run Debian's git (git http-backend ships
# with it). Installed from the distribution's packages when missing, like Chromium.
git:
	test -x /usr/bin/git -a -x /usr/lib/git-core/git-http-backend || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git)

# checkov (the IaC scanner) pins ~100 packages that would clash with ours: it gets a virtualenv of its own.
CHECKOV := .venv-checkov/bin/checkov
$(CHECKOV): tools/checkov-requirements.txt
	test -x .venv-checkov/bin/python || python3 -m venv .venv-checkov
	@echo "== installing checkov (the IaC scanner) into .venv-checkov (first run: a few minutes)"
	.venv-checkov/bin/python -m pip install $(PIP_FLAGS) -r tools/checkov-requirements.txt
	touch $(CHECKOV)

checkov: $(CHECKOV)

# semgrep (the SAST engine, LGPL-2.1, ~390 MB) also gets a virtualenv of its own; it runs only our rules (rules/semgrep).
SEMGREP := .venv-semgrep/bin/semgrep
$(SEMGREP): tools/semgrep-requirements.txt
	test -x .venv-semgrep/bin/python || python3 -m venv .venv-semgrep
	@echo "== installing semgrep (the SAST engine) into .venv-semgrep"
	.venv-semgrep/bin/python -m pip install $(PIP_FLAGS) -r tools/semgrep-requirements.txt
	touch $(SEMGREP)

semgrep: $(SEMGREP)

# The suite runs on SQLite, then again on PostgreSQL when PANOPTICA_TEST_POSTGRES_URL is set.
test: lint chromium git $(CHECKOV) $(SEMGREP) $(GRAPHIQL)
	$(PY) -m pytest -q
	@if [ -n "$$PANOPTICA_TEST_POSTGRES_URL" ]; then \
		echo "== again on PostgreSQL"; \
		PANOPTICA_TEST_DATABASE_URL="$$PANOPTICA_TEST_POSTGRES_URL" $(PY) -m pytest -q; \
	fi

# The floors pyproject.toml declares, checked: every direct dependency at the lowest version it allows (uv's
# lowest-direct resolution; what those depend on comes at its newest), in a virtualenv of its own, and the suite
# there: on SQLite, then on PostgreSQL when PANOPTICA_TEST_POSTGRES_URL is set, as `make test`. uv comes with the
# dev extra; the virtualenv is rebuilt whenever pyproject.toml changes, as .venv is.
FLOORS       := .venv-floors
FLOORS_STAMP := $(FLOORS)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

$(FLOORS_STAMP): pyproject.toml $(STAMP)
	@echo "== installing every direct dependency at its declared floor into $(FLOORS)"
	rm -rf $(FLOORS)
	python3 -m venv $(FLOORS)
	$(VENV)/bin/uv pip install --python $(FLOORS)/bin/python --resolution lowest-direct -e '.[dev,sandbox]'
	touch $(FLOORS_STAMP)

test-floors: $(FLOORS_STAMP) chromium git $(CHECKOV) $(SEMGREP) $(GRAPHIQL)
	@echo "== the suite with every direct dependency at its floor ($(FLOORS))"
	$(FLOORS)/bin/python -m pytest -q
	@if [ -n "$$PANOPTICA_TEST_POSTGRES_URL" ]; then \
		echo "== again on PostgreSQL, at the floors"; \
		PANOPTICA_TEST_DATABASE_URL="$$PANOPTICA_TEST_POSTGRES_URL" $(FLOORS)/bin/python -m pytest -q; \
	fi

bench: $(STAMP)
	for f in benchmarks/*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .venv-floors .venv-checkov .venv-semgrep var

# Regenerate the committed SDL after a schema change (a test fails while it is out of date).
schema: $(STAMP)
	$(PY) -c "from api.graphql.schema import schema; open('schema.graphql', 'w').write(schema.as_str() + '\n')"
