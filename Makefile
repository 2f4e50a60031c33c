# The test command the README gives. -race fits comfortably in CI's time.
GO ?= go

.PHONY: test test-short build bench run

test:
	$(GO) test -race -count=1 -timeout 30m ./...

test-short:
	$(GO) test -short -count=1 ./...

build:
	CGO_ENABLED=0 $(GO) build -o bin/wearlink ./cmd/wearlink

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

run:
	$(GO) run ./cmd/wearlink ourasim
