package clients

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The client code buf.gen.clients.yaml generates into gen/clients must
// build against the libraries its users build it with; CI regenerates it
// and fails when the committed copy is stale.

func TestGeneratedTypeScriptTypeChecks(t *testing.T) {
	tsc := filepath.Join("node", "node_modules", ".bin", "tsc")
	_, nodeErr := exec.LookPath("node")
	_, tscErr := os.Stat(tsc)
	need(t, "Node.js with TypeScript", "install node, then run npm ci in clients/node", nodeErr == nil && tscErr == nil)
	// tsconfig.json includes every file under gen/clients/ts, strict.
	if out, err := exec.Command(tsc, "-p", "node").CombinedOutput(); err != nil {
		t.Fatalf("tsc: %v\n%s", err, out)
	}
}

// javaClasspath is what a Java user of the generated stubs compiles with:
// grpc-java, protobuf-java and their annotations, as Debian packages them.
var javaClasspath = []string{"grpc-api", "grpc-stub", "grpc-protobuf", "grpc-protobuf-lite", "protobuf", "guava",
	"geronimo-annotation-1.3-spec"}

func TestGeneratedJavaCompiles(t *testing.T) {
	_, javacErr := exec.LookPath("javac")
	var cp []string
	missing := javacErr != nil
	for _, jar := range javaClasspath {
		p := filepath.Join("/usr/share/java", jar+".jar")
		if _, err := os.Stat(p); err != nil {
			missing = true
		}
		cp = append(cp, p)
	}
	need(t, "javac with grpc-java", "apt-get install openjdk-17-jdk-headless libgrpc-java libprotobuf-java libgeronimo-annotation-1.3-spec-java", !missing)
	var sources []string
	err := filepath.WalkDir(filepath.Join("..", "gen", "clients", "java"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(path) == ".java" {
			sources = append(sources, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"InventoryServiceGrpc.java", "OrdersServiceGrpc.java"} {
		if !slices.ContainsFunc(sources, func(p string) bool { return filepath.Base(p) == want }) {
			t.Fatalf("gen/clients/java has no %s: regenerate with buf.gen.clients.yaml", want)
		}
	}
	args := append([]string{"-nowarn", "-d", t.TempDir(), "-cp", strings.Join(cp, string(os.PathListSeparator))}, sources...)
	if out, err := exec.Command("javac", args...).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
}
