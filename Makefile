# The two commands of a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTEST_ARGS ?= --durations=40

.PHONY: demo test lint install install-test system-deps clean constraints screenshots vendor-pdfjs

$(VENV)/bin/activate:
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# constraints.txt: the exact versions of everything `seance` needs (deploy/install.sh
# installs a release with it); the test tools come on top, unpinned except ruff.
install: $(VENV)/bin/activate
	$(PIP) install -q -c constraints.txt -e .

install-test: $(VENV)/bin/activate
	$(PIP) install -q -c constraints.txt -e '.[test]'

# Re-resolve constraints.txt after a change of pyproject.toml's dependencies (then run
# the tests: the pins of aiortc, aioice and pylibsrtp are checked by sfu/library_surface.py).
# Resolved with Debian 12's Python, the one production runs (a marker such as redis's
# python_full_version < "3.11.3" differs from a newer Python's).
constraints: $(VENV)/bin/activate
	rm -rf $(VENV)/debian-python && /usr/bin/python3 -m venv $(VENV)/debian-python
	$(VENV)/debian-python/bin/pip install -q --dry-run --ignore-installed --report $(VENV)/resolution.json .
	$(PY) -c 'import json, sys; r = json.load(open(sys.argv[1])); \
	  pins = sorted((i["metadata"]["name"].lower(), i["metadata"]["version"]) for i in r["install"] if i["metadata"]["name"] != "seance"); \
	  open("constraints.txt", "w").write("# Exact versions of what seance needs: make constraints writes this file (pip --dry-run --report).\n# deploy/install.sh and make install use it; change pyproject.toml, then re-run make constraints.\n" + "".join(f"{n}=={v}\n" for n, v in pins))' $(VENV)/resolution.json

# Debian packages the tests need: Chromium for the real-browser tests,
# redis-server for the multi-node tests, Janus (the reference SFU of the benchmark,
# run in a network namespace of its own, hence iproute2), and the tools that check
# deploy/ (nginx -t, coturn, promtool, systemd-analyze, shellcheck for deploy/install.sh),
# npm for axe-core, nftables for the packet-loss tests (this kernel has no netem),
# certutil (libnss3-tools) for the network lab's browsers to trust its self-signed
# certificates, libsrtp2-dev for the native forwarding step (sfu/_forward.c, built by
# setup.py: without it `pip install -e .` installs the pure-Python path only; make
# system-deps before make install-test), Pango and a font for WeasyPrint (the signed procès-verbal as PDF/A).
# Installed only when missing.
system-deps:
	@missing=""; \
	[ -x /usr/lib/chromium/chromium ] || missing="$$missing chromium"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v janus >/dev/null 2>&1 || missing="$$missing janus"; \
	command -v ip >/dev/null 2>&1 || missing="$$missing iproute2"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	command -v turnserver >/dev/null 2>&1 || missing="$$missing coturn"; \
	command -v promtool >/dev/null 2>&1 || missing="$$missing prometheus"; \
	command -v systemd-analyze >/dev/null 2>&1 || missing="$$missing systemd"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	[ -x /usr/sbin/nft ] || missing="$$missing nftables"; \
	command -v certutil >/dev/null 2>&1 || missing="$$missing libnss3-tools"; \
	[ -f /usr/include/srtp2/srtp.h ] || missing="$$missing libsrtp2-dev"; \
	command -v shellcheck >/dev/null 2>&1 || missing="$$missing shellcheck"; \
	ldconfig -p | grep -q 'libpangoft2-1.0.so.0' || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	[ -d /usr/share/fonts/truetype/dejavu ] || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

demo: install
	$(VENV)/bin/seance demo

# axe-core (pinned in package-lock.json) runs the accessibility checks in Chromium.
# (--omit=optional: pdfjs-dist's optional canvas for Node is not needed, the browser draws.)
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --omit=optional

# pdf.js (pdfjs-dist, pinned in package-lock.json) draws the annex shown in séance on the
# salles' displays and the public page (issue 15 point 8). The server serves it (no CDN),
# and a release installs without npm: its two ES modules and licence are vendored, i.e.
# committed, in web/static/vendor/pdfjs/. After changing the pin, `make vendor-pdfjs`
# copies them again; tests/web/test_vendored_pdfjs.py checks they are the pinned bytes.
PDFJS_VENDOR := web/static/vendor/pdfjs
node_modules/pdfjs-dist/build/pdf.min.mjs: package.json package-lock.json
	npm ci --no-audit --no-fund --omit=optional

vendor-pdfjs: node_modules/pdfjs-dist/build/pdf.min.mjs
	mkdir -p $(PDFJS_VENDOR)
	cp node_modules/pdfjs-dist/build/pdf.min.mjs node_modules/pdfjs-dist/build/pdf.worker.min.mjs \
	  node_modules/pdfjs-dist/LICENSE $(PDFJS_VENDOR)/

# ruff (lint and format, one configuration in pyproject.toml) and mypy (strict on
# deliberation/ and signaling/, [tool.mypy]), pinned in the test extra.
lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: system-deps install-test node_modules/axe-core/axe.min.js node_modules/pdfjs-dist/build/pdf.min.mjs lint
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The README's screenshots, from a real sitting in Chromium (tests/browser/test_readme_screenshots.py).
screenshots: install-test node_modules/axe-core/axe.min.js
	SEANCE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(VENV)/bin/python -m pytest -q -p no:randomly tests/browser/test_readme_screenshots.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
