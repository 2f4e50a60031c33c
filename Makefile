# The test command the README gives. -race fits comfortably in CI's time.
GO ?= go

.PHONY: test test-short fuzz-short build bench run

test:
	$(GO) test -race -count=1 -timeout 30m ./...

# A short real fuzzing run of each target (the plain test run only replays
# the seed corpora).
fuzz-short:
	$(GO) test ./internal/normalize -run '^$$' -fuzz '^FuzzNormalize$$' -fuzztime 20s -fuzzminimizetime 5s
	$(GO) test ./internal/normalize -run '^$$' -fuzz '^FuzzDocument$$' -fuzztime 20s -fuzzminimizetime 5s
	$(GO) test ./internal/oura -run '^$$' -fuzz '^FuzzSplitRawData$$' -fuzztime 10s

test-short:
	$(GO) test -short -count=1 ./...

build:
	CGO_ENABLED=0 $(GO) build -o bin/wearlink ./cmd/wearlink

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

run:
	$(GO) run ./cmd/wearlink ourasim
