# make test is the README's test command with the race detector, as CI runs it.
GO ?= go

.PHONY: test test-short fuzz-short build bench run

test:
	$(GO) test -race -count=1 -timeout 30m ./...

# A short real fuzzing run of each target (the plain test run only replays
# the seed corpora). A crasher is written to testdata/fuzz and fails the
# rerun at once, so one retry only absorbs a fuzzing worker that a loaded
# machine reported as hung.
FUZZ = $(GO) test -run '^$$' -fuzzminimizetime 5s
fuzz-short:
	$(FUZZ) ./internal/provider/oura/normalize -fuzz '^FuzzNormalize$$' -fuzztime 20s || $(FUZZ) ./internal/provider/oura/normalize -fuzz '^FuzzNormalize$$' -fuzztime 20s
	$(FUZZ) ./internal/provider/oura/normalize -fuzz '^FuzzDocument$$' -fuzztime 20s || $(FUZZ) ./internal/provider/oura/normalize -fuzz '^FuzzDocument$$' -fuzztime 20s
	$(FUZZ) ./internal/provider/oura -fuzz '^FuzzSplitRawData$$' -fuzztime 10s || $(FUZZ) ./internal/provider/oura -fuzz '^FuzzSplitRawData$$' -fuzztime 10s

test-short:
	$(GO) test -short -count=1 ./...

build:
	CGO_ENABLED=0 $(GO) build -o bin/wearlink ./cmd/wearlink

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

run:
	$(GO) run ./cmd/wearlink ourasim
