# hotspots: two commands for a new user, `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := demo

.PHONY: install demo test lint typecheck bench bench-accuracy clean

install: $(STAMP)  ## create .venv and install hotspots with its test tools (idempotent)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "hotspots needs Python >= 3.11, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,dask]'
	@touch $(STAMP)
	@echo "installed: $(BIN)/hotspots"

demo: $(STAMP)  ## demo city -> ingest -> train -> forecast -> serve on 127.0.0.1:8000
	$(BIN)/hotspots demo-data --out $(DEMO)
	$(BIN)/hotspots ingest $(DEMO)/events.csv.gz --preset generic \
	    --map "$$(cat $(DEMO)/column_map.txt)" --tz "$$(cat $(DEMO)/timezone.txt)" \
	    --boundary $(DEMO)/boundary.geojson --out $(DEMO)/events.parquet \
	    --panel $(DEMO)/panel.parquet --resolution 9 --period W
	$(BIN)/hotspots train training/demo.toml
	$(BIN)/hotspots forecast --model demo-burglary --events $(DEMO)/events.parquet \
	    --as-of 2024-12-30 --horizon 4 --output $(DEMO)/forecast.csv
	@$(BIN)/hotspots keys create --name demo --scope forecasts:read > $(DEMO)/read.key
	@echo "A read key is in $(DEMO)/read.key. Once the server is up, in another terminal:"
	@echo "  curl -H \"Authorization: Bearer $$(cat $(DEMO)/read.key)\" 'http://127.0.0.1:8000/v1/forecasts/latest?top=10'"
	@echo "Open the map once the server is up, and paste the key from $(DEMO)/read.key into it:"
	@echo "  http://127.0.0.1:8000/map"
	$(BIN)/hotspots serve --host 127.0.0.1 --port 8000 --events $(DEMO)/events.parquet

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck  ## lint, type-check and run the tests
	$(BIN)/python -m pytest

bench: $(STAMP)  ## speed benchmarks and the quick accuracy subset (accuracy needs ../shared/data)
	$(BIN)/python benchmarks/cli_startup.py
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/train_speed.py
	$(BIN)/python benchmarks/api_load.py
	$(BIN)/python benchmarks/accuracy.py --quick

bench-accuracy: $(STAMP)  ## the accuracy suite (ARGS=--quick for the development subset)
	$(BIN)/python benchmarks/accuracy.py $(ARGS)

clean:  ## remove the venv, the demo and what it made: its model, reports, service state (var/)
	rm -rf $(VENV) $(DEMO) models/demo-burglary reports var .pytest_cache .mypy_cache .ruff_cache
