package app_test

import (
	"errors"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/tollgate-rpc/tollgate/"

// layer says where a package of the module sits; a package imports only
// from its own layer or the ones below, so that the picture of imports has
// no arrow running back up (#31.4). The folder says the layer:
//
//	0 gen/...               generated messages and policy options
//	1 internal/<leaf>       helpers that assemble nothing: files, errors, URLs, test rigs
//	2 interceptors/...      the library: interceptors, verify, callcreds
//	3 services/...          the suite's services
//	4 internal/app/...      what assembles the suite: serving, transport, trust, metrics, dev
//	5 cmd/..., clients      the binary, and the tests of the other languages' callers
func layer(rel string) (int, bool) {
	for _, l := range []struct {
		folder string
		n      int
	}{ // the deeper folder first
		{"gen", 0},
		{"internal/app", 4},
		{"internal", 1},
		{"interceptors", 2},
		{"services", 3},
		{"cmd", 5},
		{"clients", 5},
	} {
		if rel == l.folder || strings.HasPrefix(rel, l.folder+"/") {
			return l.n, true
		}
	}
	return 0, false
}

func TestImportsRunDownward(t *testing.T) {
	// The files are read here, not by a go list child, so that go test's
	// cache sees them and a new import reruns this test.
	const root = "../.."
	packages := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if name := d.Name(); rel != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
			name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && rel != "." {
			return filepath.SkipDir // a module of its own (loadtest, tools, deploy/k8s)
		}
		pkg, err := build.ImportDir(path, 0)
		var none *build.NoGoError
		if errors.As(err, &none) {
			return nil
		}
		if err != nil {
			return err
		}
		packages++
		from, ok := layer(rel)
		if !ok {
			t.Errorf("%s sits in no layer; add its folder to layer()", rel)
			return nil
		}
		// Tests count too: a service's test reaching for the assembly
		// would tie the layers together as surely as its code.
		for _, imp := range slices.Concat(pkg.Imports, pkg.TestImports, pkg.XTestImports) {
			dep, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue // outside the module
			}
			if to, ok := layer(dep); !ok || to > from {
				t.Errorf("%s (layer %d) imports %s (layer %d): an arrow running back up", rel, from, dep, to)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if packages < 20 {
		t.Fatalf("found only %d of the module's packages under %s", packages, root)
	}
}

func TestLayerOfFolder(t *testing.T) {
	for rel, want := range map[string]int{
		"gen/go/tollgate/auth/v1":  0,
		"internal/securefile":      1,
		"internal/app/serving":     4,
		"interceptors":             2,
		"interceptors/callcreds":   2,
		"services/internal/sqldb":  3,
		"cmd/tollgate":             5,
		"internal/application/odd": 1,
		"internal/app":             4,
	} {
		if got, ok := layer(rel); !ok || got != want {
			t.Errorf("layer(%q) = %d, %v; want %d", rel, got, ok, want)
		}
	}
	for _, rel := range []string{"interceptorsx", "loadtest", "deploy/k8s"} {
		if n, ok := layer(rel); ok {
			t.Errorf("layer(%q) = %d; want none", rel, n)
		}
	}
}
