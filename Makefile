# The two commands a newcomer runs: `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test fuzz bench serve screenshots clean help

help:
	@echo "make demo   — 安装并对随附的石峰区政协示例数据评分，结果写入 reports/"
	@echo "make test   — 安装测试依赖并运行全部测试"
	@echo "make fuzz   — 模糊测试（指标值解析器 ≥ 100,000 个样例等）"
	@echo "make bench  — 运行性能基准（bench/）"
	@echo "make look   — 把示例的全部文档渲染成 PNG（reports/look/），便于逐页查看"
	@echo "make serve  — 启动网页版（演示数据，http://127.0.0.1:8000/，账号见 README）"
	@echo "make screenshots — 用 Chromium 给网页版的各主要页面截图（docs/screenshots/）"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[test]'
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/evaluator score data/targets/shifeng-cppcc-2023.yaml data/actuals/shifeng-cppcc-2023.yaml \
		--output reports/shifeng-cppcc-2023.json
	$(BIN)/evaluator report data/targets/shifeng-cppcc-2023.yaml data/actuals/shifeng-cppcc-2023.yaml \
		--output reports/shifeng-cppcc-2023

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

fuzz: $(VENV)/.installed-test
	EVALUATOR_FUZZ=1 $(BIN)/python -m pytest tests/test_fuzz.py

serve: $(VENV)/.installed
	$(BIN)/evaluator serve --demo --db sqlite:///reports/demo.db

bench: $(VENV)/.installed
	$(BIN)/python bench/bench_score.py
	$(BIN)/python bench/bench_report.py

screenshots: $(VENV)/.installed-test
	$(BIN)/python docs/screenshots.py -o docs/screenshots

look: $(VENV)/.installed
	$(BIN)/python docs/look.py -o reports/look

clean:
	rm -rf $(VENV) reports/*.json reports/*/ .pytest_cache .hypothesis
