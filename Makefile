# One entry point per dev task. `make serve` and `make test` are the README's two commands.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 3000

.PHONY: setup serve test test-fast lint format train train-dry splits evaluate bench loadtest reliability docker-e2e bento k8s-validate gpu-wheels gpu-check clean

setup: $(STAMP)  ## create .venv and install everything (idempotent; fast when done)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[training,ray,dev]'
	@touch $(STAMP)

serve: setup  ## serve the committed model on 127.0.0.1:$(PORT)
	$(BIN)/sentiment serve --port $(PORT)

test: setup lint  ## ruff + the whole test suite
	$(BIN)/python -m pytest -q

test-fast: setup  ## the unit tests: no training, servers, clusters or containers (marker policy: docs/architecture.md)
	$(BIN)/python -m pytest -q -m "not slow and not docker"

lint: setup  ## ruff, and the one-way import contracts of docs/architecture.md (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

train: setup  ## reproduce models/default (seed 13)
	$(BIN)/sentiment train

train-dry: setup
	$(BIN)/sentiment train --dry-run --out build/dry

splits: setup  ## write build/splits/{train,val,test}.tsv (the internal test is test.tsv)
	$(BIN)/sentiment train --split temporal --write-splits build/splits --no-progress

evaluate: splits  ## metrics of the committed model on the internal test split
	$(BIN)/sentiment evaluate --data build/splits/test.tsv

loadtest: setup  ## headless locust run (bounded: USERS, SECONDS) against a local server -> build/loadtest/
	$(BIN)/python -m loadtests loadtest --users $(or $(USERS),32) --run-time $(or $(SECONDS),60) --scenario $(or $(SCENARIO),mixed)

bench: setup  ## every benchmark in one run (model, scorer, HTTP; ~6 min, QUICK=1 ~2 min) -> build/bench/
	$(BIN)/python -m loadtests bench $(if $(QUICK),--quick,) --out build/bench

reliability: setup  ## bad input, schema, overload, fault and security scenarios -> build/reliability.{md,json}
	$(BIN)/python -m loadtests reliability

docker-e2e: setup  ## build the API image, compose up, check /predict, /model and the batch profile, tear down
	$(BIN)/python -m scripts.docker_e2e

bento: setup  ## build the Bento (bentofile.yaml: serving code + models/default) into $$BENTOML_HOME (default ~/bentoml)
	BENTOML_DO_NOT_TRACK=True $(BIN)/bentoml build --output tag .

k8s-validate: setup  ## render deploy/k8s overlays (kubectl kustomize) and validate them against Kubernetes 1.30 (strict)
	@mkdir -p build/k8s
	@for o in cpu gpu; do kubectl kustomize deploy/k8s/overlays/$$o > build/k8s/$$o.yaml || exit 1; done
	$(BIN)/kubernetes-validate -k 1.30.0 --strict build/k8s/cpu.yaml build/k8s/gpu.yaml deploy/k8s/ray/rayjob.yaml \
		deploy/k8s/kserve/inferenceservice.yaml \
		deploy/k8s/base/secret.example.yaml

clean:
	rm -rf build .pytest_cache .ruff_cache

gpu-wheels: setup  ## what travels to the GPU machine: cp312 wheels it lacks + the data -> build/gpu-travel; size check
	$(BIN)/python -m scripts.gpu_check --wheels build/gpu-travel

gpu-check:  ## CUDA-path check -> docs/gpu.{md,json}; GPU machine: make gpu-check PY=python3 ARGS=--install (docs/gpu.md)
	$(or $(PY),$(BIN)/python) -m scripts.gpu_check $(or $(ARGS),) $(if $(QUICK),--quick --device cpu,)
