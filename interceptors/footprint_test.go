package interceptors

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// What a Go user of the library builds: grpc, protobuf, x/oauth2, jwx and
// x/sync, with the modules those need themselves. Anything else (metrics,
// tracing, SQL drivers, YAML, Kubernetes types) belongs to the suite's
// services and commands, never to these packages.
var libraryModules = []string{
	"github.com/tollgate-rpc/tollgate",
	"google.golang.org/grpc",
	"google.golang.org/protobuf",
	"google.golang.org/genproto/googleapis/rpc", // google.rpc.ErrorInfo, grpc's own
	"golang.org/x/oauth2",
	"golang.org/x/sync",
	"github.com/lestrrat-go/jwx/v2",
	// jwx's own
	"github.com/lestrrat-go/blackmagic", "github.com/lestrrat-go/httpcc", "github.com/lestrrat-go/httprc",
	"github.com/lestrrat-go/iter", "github.com/lestrrat-go/option",
	// grpc's and jwx's own
	"golang.org/x/crypto", "golang.org/x/net", "golang.org/x/sys", "golang.org/x/text",
}

// The suite's packages the library may build on: its generated policy
// options, the status builder it shares with the services, the outbound
// URL rules and the metadata discovery it shares with the issuer's
// commands.
var libraryInternal = []string{"interceptors", "gen/go/tollgate/auth/v1", "internal/rpcerr", "internal/egress", "internal/discovery"}

func TestLibraryFootprint(t *testing.T) {
	// go test puts its own Go's bin directory first on the test's PATH.
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{.Module.Path}} {{.ImportPath}}{{end}}",
		".", "./verify", "./callcreds", "./errorinfo").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	seen := 0
	for line := range strings.Lines(string(out)) {
		mod, pkg, _ := strings.Cut(strings.TrimSpace(line), " ")
		seen++
		if !slices.Contains(libraryModules, mod) {
			t.Errorf("the library builds %s (module %s); keep it out of interceptors/...", pkg, mod)
			continue
		}
		if rel, ok := strings.CutPrefix(pkg, "github.com/tollgate-rpc/tollgate/"); ok &&
			!slices.ContainsFunc(libraryInternal, func(p string) bool { return rel == p || strings.HasPrefix(rel, p+"/") }) {
			t.Errorf("the library builds the suite's %s; keep it out of interceptors/...", pkg)
		}
	}
	if seen < 10 {
		t.Fatalf("go list named only %d packages:\n%s", seen, out)
	}
}

// verify knows nothing of gRPC or of the interceptors that serve its
// answers (#31.3): it builds no grpc package and nothing else under
// interceptors/.
func TestVerifyKnowsNothingOfGRPC(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./verify").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const tollgate = "github.com/tollgate-rpc/tollgate/"
	for pkg := range strings.Lines(string(out)) {
		pkg = strings.TrimSpace(pkg)
		switch rel, _ := strings.CutPrefix(pkg, tollgate); {
		case strings.HasPrefix(pkg, "google.golang.org/grpc"):
			t.Errorf("verify builds %s", pkg)
		case strings.HasPrefix(pkg, tollgate+"interceptors") && rel != "interceptors/verify":
			t.Errorf("verify builds %s", pkg)
		}
	}
}
