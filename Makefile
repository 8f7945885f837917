# The Makefile only sequences steps: Debian packages, the native engine (CMake), the model zoo
# (Python, exported to TorchScript), the Go binary, then tests or the default job.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)

BUILD   ?= build
PYTHON  ?= /usr/bin/python3
# Debian packages: LibTorch and its headers, a fast BLAS for it, PyTorch to export the zoo,
# CMake for the engine, the Fashion-MNIST files, and Chromium for the review page's browser test.
DEB_PKGS := libtorch-dev libopenblas0-pthread python3-torch python3-torchvision cmake dataset-fashion-mnist g++ make chromium
GO_FILES := $(shell find . -name '*.go' -not -path './build/*' 2>/dev/null)
ENGINE_SRC := $(wildcard engine/src/*.cpp engine/src/*.h engine/include/*.h cuda/*.cuh cuda/*.h cuda/*.cu) CMakeLists.txt
ZOO_SRC := $(wildcard zoo/*.py)

.PHONY: all deps engine zoo test fuzz run bench clean info
all: $(BUILD)/gam-native $(BUILD)/zoo/.stamp

# Installs only what is missing; prints nothing when all is present.
deps: $(BUILD)/.deps
$(BUILD)/.deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
	@go mod download
	@mkdir -p $(BUILD) && touch $@

engine: $(BUILD)/libgam_engine.so
$(BUILD)/libgam_engine.so: $(BUILD)/.deps $(ENGINE_SRC)
	@[ -f $(BUILD)/CMakeCache.txt ] || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j2
	@touch $@

zoo: $(BUILD)/zoo/.stamp
$(BUILD)/zoo/.stamp: $(BUILD)/.deps $(ZOO_SRC)
	$(PYTHON) zoo/export.py --out $(BUILD)/zoo
	$(PYTHON) zoo/fixtures.py --out $(BUILD)/fixtures
	@touch $@

$(BUILD)/gam-native: $(BUILD)/.deps $(GO_FILES) go.mod go.sum engine/include/gam.h
	go build -buildvcs=auto -o $@ ./cmd/gam-native

test: $(BUILD)/gam-native $(BUILD)/libgam_engine.so $(BUILD)/zoo/.stamp
	GAM_REQUIRE_ENGINE=1 GAM_ENGINE=$(CURDIR)/$(BUILD)/libgam_engine.so GAM_ZOO=$(CURDIR)/$(BUILD)/zoo \
	GAM_FIXTURES=$(CURDIR)/$(BUILD)/fixtures go test -count=1 -timeout 25m ./...

# The fuzz targets, each for FUZZTIME, one at a time (`go test` above runs their seeds and any
# crashers in testdata/fuzz as regression corpora). make fuzz FUZZTIME=2m for a longer search.
# Minimizing each new input is capped at FUZZMINIMIZE: at Go's default (60 s) the one worker spends
# a short run shrinking the large seeds (job files, Label Studio exports) instead of fuzzing.
FUZZTIME ?= 5s
FUZZMINIMIZE ?= 5s
FUZZ_TARGETS = data:FuzzReadIDX data:FuzzParseManifestLine data:FuzzManifestClasses data:FuzzClassFolder plan:FuzzDecodePlan \
	plan:FuzzReadMetrics review:FuzzParseDecision review:FuzzResolvedDecisions review:FuzzImportLS loop:FuzzParseJob
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz ./$${t%%:*} $${t##*:}"; \
		go test ./$${t%%:*} -run '^$$' -fuzz "^$${t##*:}\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) || exit 1; \
	done

run: $(BUILD)/gam-native $(BUILD)/libgam_engine.so $(BUILD)/zoo/.stamp
	$(BUILD)/gam-native run

info: $(BUILD)/gam-native $(BUILD)/libgam_engine.so $(BUILD)/zoo/.stamp
	$(BUILD)/gam-native info

bench: $(BUILD)/gam-native $(BUILD)/libgam_engine.so $(BUILD)/zoo/.stamp
	$(BUILD)/gam-native bench

clean:
	rm -rf $(BUILD)
