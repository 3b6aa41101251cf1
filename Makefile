# Medic. `make run` plays the self-healing demo and keeps serving;
# `make test` installs what it needs and runs every test.
#
# Never use ./... at the root: node_modules/aws-cdk ships *.go templates.
# The CDK packages compile slowly, so they are a list of their own.
PKGS         := ./cmd/... ./internal/... ./functions/...
INFRA_PKGS   := $(if $(wildcard infra/*.go),./infra/...,)
FUNCS        := $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go))
LAMBDA_FLAGS := -trimpath -tags lambda.norpc -ldflags '-s -w'
NPM_BIN      := node_modules/.bin

.PHONY: run demo serve test test-go test-infra validate deps build cli synth clean FORCE

run: cli                       ## serve on 127.0.0.1:8080 and play the demo scene once
	./bin/medic serve --demo

demo: cli                      ## play the demo scene and exit (0 = healed)
	./bin/medic demo

serve: cli
	./bin/medic serve

cli:
	go build -o bin/medic ./cmd/medic

deps: node_modules/.installed
	go mod download

node_modules/.installed: package.json package-lock.json
	npm ci --no-fund --no-audit
	touch $@

test: deps validate test-go test-infra synth demo   ## everything CI runs

test-go:
	go vet $(PKGS)
	go test -count=1 $(PKGS)

test-infra: build
	$(if $(INFRA_PKGS),go test -count=1 $(INFRA_PKGS),@echo "no infra packages yet")

validate: deps cli             ## state machines (asl-validator + our parser) and packs
	for f in statemachines/*.asl.json; do $(NPM_BIN)/asl-validator --json-path $$f || exit 1; done
	./bin/medic pack validate packs

build: $(FUNCS:%=build/%/bootstrap)   ## Lambda binaries (arm64, provided.al2023) with packs beside them

# Packs ship beside every bootstrap; chatops also ships who-may-do-what
# (MEDIC_CHATOPS_CONFIG_FILE, default the example).
build/%/bootstrap: FORCE
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build $(LAMBDA_FLAGS) -o $@ ./functions/$*
	rm -rf build/$*/packs && cp -r packs build/$*/packs
	if [ $* = chatops ]; then mkdir -p build/chatops/config && cp $${MEDIC_CHATOPS_CONFIG_FILE:-config/chatops.example.yaml} build/chatops/config/chatops.yaml; fi

# Synth needs the healable tag and the alarm prefixes; cdk.json carries the
# documented example (medic:healable=true, alarms named heal-*). Yours:
#   make synth CDK_ARGS='-c healableTagKey=team -c healableTagValue=sre -c alarmNamePrefixes=heal-'
CDK_ARGS ?=
synth: build deps
	CDK_DISABLE_VERSION_CHECK=1 $(NPM_BIN)/cdk synth -q --no-notices $(CDK_ARGS)

clean:
	rm -rf bin build cdk.out .medic
