# Convenience targets; scripts/test.sh is the reference test command.
GO ?= go

.PHONY: all build test unit e2e lint demo setup clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -o bin/bwrap-oci ./cmd/bwrap-oci

# Everything, as CI does it (set-up needs root: sudo make test).
test:
	./scripts/test.sh

unit:
	./scripts/test.sh -no-e2e

e2e:
	./scripts/test.sh -e2e-only

lint:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) vet ./...

demo:
	./scripts/demo.sh

setup:
	sudo ./scripts/setup-host.sh

clean:
	rm -rf bin
