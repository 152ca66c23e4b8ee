package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's shell blocks run as written against a running `tollgate dev`,
// with only what a test must change: the dev suite's own addresses and data
// directory instead of the defaults, the built binary instead of `go run
// ./cmd/tollgate`, and no package installs. Every block is either run, with
// what it must print, or skipped with the reason; a new block fails this
// test until it is one or the other.

// readmeRuns are the blocks run, by a line each contains, with what their
// output must contain.
var readmeRuns = map[string][]string{
	"TOKEN=$(go run ./cmd/tollgate token --client admin --audience inventory)":                 {`"name": "Widget"`, `"state": "ORDER_STATE_RESERVED"`},
	"grpcurl -cacert .tollgate/ca.pem -H \"authorization: Bearer $TOKEN\" 127.0.0.1:8401 list": {"tollgate.inventory.v1.InventoryService"},
	"ghz --cacert .tollgate/ca.pem":                             {"[OK]   2000 responses"},
	"/usr/bin/python3 clients/python/tollgate_client.py":        {"GetItem: widget-1 on hand", "done"},
	"node clients/node/client.js --dev-json .tollgate/dev.json": {"PlaceOrder: PERMISSION_DENIED, missing scope: orders.write"},
}

// readmeSkips are the blocks not run here, by a line each contains, and why.
var readmeSkips = map[string]string{
	"go test -race ./...":                          "the first two commands: CI runs them as they are",
	"go run -C loadtest . run":                     "minutes of load; TestSmokeRun runs the harness",
	"buf generate --template buf.gen.clients.yaml": "rewrites gen/clients; CI regenerates and compares",
	"ghz --config loadtest/scenarios/getitem.json": "against serve --mode auth: TestScenarioFilesWithTheGhzCLI",
	"--issuer-url https://acme.eu.auth0.com/":      "needs an Auth0 tenant; TestProviderProfilesThroughTheRealService covers the profile",
	"buf lint": "CI runs buf lint and buf generate",
}

var shBlock = regexp.MustCompile("(?ms)^```sh\n(.*?)^```")

func TestREADMECommands(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	var wants []string
	for _, m := range shBlock.FindAllStringSubmatch(string(readme), -1) {
		block := m[1]
		if reason, ok := matchBlock(block, readmeSkips); ok {
			t.Logf("not run (%s):\n%s", reason, block)
			continue
		}
		want, ok := matchBlock(block, readmeRuns)
		if !ok {
			t.Errorf("a README block neither run nor skipped here; add it to readmeRuns or readmeSkips:\n%s", block)
			continue
		}
		wants = append(wants, want...)
		script.WriteString(block)
	}
	if t.Failed() {
		return
	}
	// The callers' runtimes, as the README installs them: missing ones skip
	// the test here, and fail it in CI, which installs them.
	_, nodeErr := exec.LookPath("node")
	_, modErr := os.Stat("../../clients/node/node_modules/@grpc/grpc-js")
	pyErr := exec.Command("/usr/bin/python3", "-c", "import grpc, google.protobuf").Run()
	if err := errors.Join(nodeErr, modErr, pyErr); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a caller's runtime is missing in CI: %v", err)
		}
		t.Skipf("a caller's runtime is missing (Debian's python3-grpcio and python3-protobuf; node with npm ci in clients/node): %v", err)
	}

	dev := startDevProcess(t)
	bin := binary(t)
	s := strings.NewReplacer(
		"go run ./cmd/tollgate", bin,
		".tollgate/", dev.dir+"/",
		"127.0.0.1:8401", dev.info.Services["inventory"],
		"127.0.0.1:8402", dev.info.Services["orders"],
		"(cd clients/node && npm ci) && ", "", // installed already, as CI does
	).Replace(script.String())
	var kept []string
	for line := range strings.Lines(s) {
		if !strings.HasPrefix(line, "sudo apt-get install") { // CI installs them
			kept = append(kept, line)
		}
	}
	cmd := exec.Command("bash", "-u", "-c", strings.Join(kept, ""))
	cmd.Dir = filepath.Join("..", "..") // the repository root, where the README runs them
	cmd.Env = append(cleanEnv(), "TOLLGATE_DATA_DIR="+dev.dir)
	out, _ := cmd.CombinedOutput() // a block may exit non-zero as it says (the reader's PlaceOrder)
	for _, want := range wants {
		if !strings.Contains(string(out), want) {
			t.Errorf("the README's commands did not print %q:\n%s", want, out)
		}
	}
}

// matchBlock finds the entry whose key is a substring of the block.
func matchBlock[V any](block string, entries map[string]V) (V, bool) {
	for key, v := range entries {
		if strings.Contains(block, key) {
			return v, true
		}
	}
	var zero V
	return zero, false
}
