# WAE Lab — two commands on a fresh machine: `make demo` and `make test`.
PY      := .venv/bin/python
STAMP   := .venv/.installed
PORT    ?= 8501
HOST    ?= 127.0.0.1
PROCESSES ?= 2
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Install Debian packages (the index refreshed first: a fresh machine's may be empty).
APT_INSTALL := $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq

.PHONY: demo room test test-fast lint bench evaluate checkpoints chromium proxy fonts fashion-data i18n clean

# Create .venv and install requirements.txt (again only when it changes).
$(STAMP): requirements.txt
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip check
	touch $(STAMP)

# Debian's chromium for the browser tests (never `playwright install`: it downloads).
chromium:
	@command -v chromium >/dev/null 2>&1 || { $(APT_INSTALL) chromium; }

# Debian's HAProxy: the reverse proxy of `make room` (docs/serving.md).
proxy:
	@command -v haproxy >/dev/null 2>&1 || test -x /usr/sbin/haproxy || { $(APT_INSTALL) haproxy; }

demo: $(STAMP)
	$(PY) -m app.serve \
	  --server.address $(HOST) --server.port $(PORT) --server.headless true \
	  --browser.gatherUsageStats false

# A seminar room: PROCESSES app processes behind HAProxy with cookie affinity (docs/serving.md).
room: $(STAMP) proxy
	$(PY) -m app.room --processes $(PROCESSES) --host $(HOST) --port $(PORT)

# The fonts scripts/make_heldout_digits.py and make_heldout_digits_2.py draw the committed
# held-out digits from (the second set's handwriting faces: its FONT_PACKAGES), and a Korean font
# (fonts-nanum: 10 MB, against fonts-noto-cjk's 57 MB) so that chromium and the PNGs the server
# draws (app.figures.legend_font) show Hangul, not boxes.
FONT_PKGS := fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-nanum \
             fonts-yusei-magic fonts-klee fonts-bwht fonts-dkg-handwriting fonts-humor-sans
fonts:
	@dpkg -s $(FONT_PKGS) >/dev/null 2>&1 || { $(APT_INSTALL) $(FONT_PKGS); }

# The app's translations (app/i18n.py, docs/glossary.md): every string marked with _, N_ or
# ngettext into locale/messages.pot, then pybabel update of locale/ko/LC_MESSAGES/messages.po (new
# strings arrive untranslated; strings another part of the catalogue holds are left to it).
i18n: $(STAMP)
	.venv/bin/pybabel -q extract -F babel.cfg -o locale/messages.pot --project "WAE Lab" \
	  --sort-by-file -w 100 --add-comments "Translators:" .
	$(PY) -c 'from app.i18n import update; print("updated", update())'

# tests/unit and tests/app (AppTest: pages run in the test's process) are CPU-bound with one torch
# thread per test process (tests/conftest.py): two processes (pytest-xdist, a file each at a time)
# use both cores. The browser tests run after them, also in two processes (a file each at a
# time, each process with its own server): a browser test mostly waits on its server and
# chromium, and one at a time they used one core of two (395 s against 280 s). Both parts run
# even when the first fails; the target fails if either did.
test: $(STAMP) chromium fonts proxy
	$(PY) -m ruff check .
	WAE_NO_SKIPS=1 $(PY) -m pytest -q --durations=10 -n 2 --dist loadfile tests/unit tests/app; unit=$$?; \
	WAE_NO_SKIPS=1 $(PY) -m pytest -q --durations=10 -n 2 --dist loadfile tests/e2e; rest=$$?; \
	exit $$((unit || rest))

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not browser"

lint: $(STAMP)
	$(PY) -m ruff check .

bench: $(STAMP)
	$(PY) -m wae_core.training.bench

# The Fashion-MNIST training split (the repo embeds the test split only): the real-data row.
fashion-data:
	@test -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz || { $(APT_INSTALL) dataset-fashion-mnist; }

evaluate: $(STAMP) fashion-data
	$(PY) -m wae_core.evaluate

checkpoints: $(STAMP)
	scripts/make_checkpoints.sh all

clean:
	rm -rf .pytest_cache .ruff_cache test-artifacts
