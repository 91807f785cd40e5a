# Every target sets up .venv on first use, so each works on a fresh machine.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    := out

.PHONY: demo test bench bench-quick lint clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

demo: $(STAMP)
	@mkdir -p $(OUT)
	$(VENV)/bin/shapetree build data/bunny.off -o $(OUT)/bunny.stree --seed 0
	$(VENV)/bin/shapetree info $(OUT)/bunny.stree
	$(VENV)/bin/shapetree eval $(OUT)/bunny.stree data/bunny.off
	$(VENV)/bin/shapetree normals $(OUT)/bunny.stree data/bunny.off -o $(OUT)/bunny-normals.stree --seed 0
	$(VENV)/bin/shapetree render $(OUT)/bunny.stree -o $(OUT)/bunny-heatmap.png --heatmap
	$(VENV)/bin/shapetree render $(OUT)/bunny.stree -o $(OUT)/bunny-lod.gif --lod 16,64,256,1024,4096,16384 --size 384 384 --fps 1
	$(VENV)/bin/shapetree render $(OUT)/bunny.stree --normals $(OUT)/bunny-normals.stree -o $(OUT)/bunny.png
	$(VENV)/bin/shapetree render $(OUT)/bunny.stree --normals $(OUT)/bunny-normals.stree -o $(OUT)/bunny.gif --frames 36 --size 384 384
	@echo "look at it in the browser: $(VENV)/bin/shapetree view $(OUT)/bunny.stree --normals $(OUT)/bunny-normals.stree"

test: $(STAMP)
	$(PY) -m pytest -n 2

bench: $(STAMP)
	$(PY) benchmarks/run.py

bench-quick: $(STAMP)
	$(PY) benchmarks/run.py --quick

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(OUT) .pytest_cache
