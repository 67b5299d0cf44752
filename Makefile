# Two commands: `make run` and `make test`. Everything else is what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
DEMO   := examples/community-safety-2025.yaml
PAST_WAVES := 2021 2023
STAMP  := $(VENV)/.installed

# `make serve`: gunicorn with WORKERS processes (default 2 per core + 1) listening on BIND.
WORKERS ?= $(shell echo $$(( 2 * $$(nproc 2>/dev/null || echo 1) + 1 )))
BIND    ?= 127.0.0.1:8000
# `make test`: pytest-xdist workers, one per core up to four (each has its own PostgreSQL database).
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n > 4 ? 4 : n )))

.PHONY: run serve test setup translations bytecode db demo admin extract-messages clean

run: setup db demo  ## Set up everything and serve the demo on http://127.0.0.1:5000
	@echo "Staff area: http://127.0.0.1:5000/staff/ (create an account first: make admin EMAIL=you@example.org)"
	$(FLASK) run --host 127.0.0.1 --port 5000

admin: db  ## Create an administrator account: make admin EMAIL=you@example.org (the password is shown once)
	@test -n "$(EMAIL)" || (echo "Usage: make admin EMAIL=you@example.org" >&2; exit 2)
	$(FLASK) users create "$(EMAIL)" --role admin --generate-password

serve: setup db  ## Serve with gunicorn (production): DATABASE_URL, SECRET_KEY, WORKERS, BIND; see docs/deploy.md
	$(BIN)/gunicorn --workers $(WORKERS) --bind $(BIND) --timeout 30 --graceful-timeout 20 \
		--max-requests 10000 --max-requests-jitter 1000 'app:create_app()'

test: setup  ## Set up and run the whole suite
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

setup: $(STAMP) translations bytecode

bytecode: $(STAMP)  ## Precompile our modules: this environment sets PYTHONDONTWRITEBYTECODE, so every command would recompile them
	$(BIN)/python -m compileall -q survey analysis app.py

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

translations: $(STAMP)  ## Compile the UI catalogues in translations/
	$(BIN)/pybabel compile -d translations --statistics

db: $(STAMP)  ## Create or upgrade the database named by DATABASE_URL (default: instance/safer-voices.sqlite)
	$(FLASK) db upgrade

demo: db  ## Load the demo survey and open it, and two closed earlier waves with made-up responses for the analysis page
	$(FLASK) survey load --open $(DEMO)
	@# Each step only when needed, so a run stopped half-way is finished by the next one.
	@listed=$$($(FLASK) survey list); for wave in $(PAST_WAVES); do \
	  status=$$(echo "$$listed" | awk -v slug=cs-$$wave '$$1 == slug { print $$2 }'); \
	  if [ -z "$$status" ]; then $(FLASK) survey load examples/community-safety-$$wave.yaml || exit 1; status=draft; fi; \
	  if [ "$$status" != closed ]; then \
	    { [ "$$status" = open ] || $(FLASK) survey open cs-$$wave; } \
	      && $(FLASK) responses import cs-$$wave examples/community-safety-$$wave-responses.csv \
	      && $(FLASK) survey close cs-$$wave || exit 1; \
	  fi; \
	done

extract-messages: $(STAMP)  ## Extract UI strings and merge them into every catalogue
	$(BIN)/pybabel extract -F babel.cfg -k _l -o translations/messages.pot --no-location --sort-output --project safer-voices .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) instance/safer-voices.sqlite*
