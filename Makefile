# The two commands of the README: `make run` and `make test`. Both set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | sha1sum | cut -c1-12)
WORKSPACE ?= data
PORT ?= 8501

.PHONY: install run demo test bench clean-venv

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)
	$(BIN)/python -m core.pose.models

# The demo build (pose model, demo workouts, clips and splits, the pose model retrained on their reps;
# DEMO_STEPS=pose,render,dataset,pose-reps,movinet adds the MoViNet demo model) in the foreground; it resumes
# where it stopped and never redoes a finished step.
DEMO_STEPS ?= pose,render,dataset,pose-reps
demo: install
	$(BIN)/python -m core demo --workspace $(WORKSPACE) --steps $(DEMO_STEPS)

# The app answers at once; the demo build runs beside it in the background (its progress is on the Home
# page, its log in $(WORKSPACE)/demo-build.log). DEV=1 shows tracebacks in the browser.
run: install
	mkdir -p $(WORKSPACE)
	nohup $(BIN)/python -m core demo --workspace $(WORKSPACE) --steps $(DEMO_STEPS) >> $(WORKSPACE)/demo-build.log 2>&1 &
	WORKSPACE=$(WORKSPACE) $(BIN)/streamlit run Home.py --server.address 127.0.0.1 --server.port $(PORT) \
		$(if $(DEV),--client.showErrorDetails full --client.toolbarMode developer)

# The browser tests need Chromium: tools/browser-deps.sh installs it (root + apt) or says what to install.
test: install
	bash tools/browser-deps.sh
	$(BIN)/python -m pytest -q

bench: install
	for f in bench/*.py; do $(BIN)/python $$f; done

clean-venv:
	rm -rf $(VENV)
