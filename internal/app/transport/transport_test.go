package transport

import (
	"errors"
	"strings"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"localhost:8400": true, "127.0.0.1:0": true, "127.9.9.9:1": true, "[::1]:8400": true,
		"0.0.0.0:8400": false, "[::]:8400": false, "10.0.0.1:8400": false, "example.com:8400": false, ":8400": false,
	} {
		if got, err := IsLoopback(addr); err != nil || got != want {
			t.Errorf("IsLoopback(%q) = %v, %v; want %v", addr, got, err, want)
		}
	}
	if _, err := IsLoopback("127.0.0.1"); err == nil || !strings.Contains(err.Error(), `"127.0.0.1"`) {
		t.Errorf("an address without a port: %v", err)
	}
}

func TestRemotePlaintextIsRefusedUnlessAllowed(t *testing.T) {
	plain := Transport{Plaintext: true}
	for _, addr := range []string{"127.0.0.1:8401", "[::1]:8401", "localhost:8401"} {
		if err := plain.CheckDial("--inventory-addr", addr); err != nil {
			t.Errorf("plaintext dial to %s: %v", addr, err)
		}
	}
	if err := plain.CheckDial("--inventory-addr", "inventory.internal:8401"); !errors.Is(err, ErrRemotePlaintext) ||
		!strings.Contains(err.Error(), "--inventory-addr") {
		t.Errorf("plaintext dial off loopback: %v, want ErrRemotePlaintext naming the flag", err)
	}
	if err := (Transport{}).CheckDial("--inventory-addr", "inventory.internal:8401"); err != nil {
		t.Errorf("TLS dial off loopback: %v", err)
	}
	if err := (Transport{Plaintext: true, RemotePlaintext: true}).CheckDial("--inventory-addr", "inventory.internal:8401"); err != nil {
		t.Errorf("plaintext dial off loopback with --allow-plaintext: %v", err)
	}
	if err := plain.CheckURL("--token-url", "http://issuer.internal/oauth/token"); !errors.Is(err, ErrRemotePlaintext) {
		t.Errorf("http token URL off loopback: %v, want ErrRemotePlaintext", err)
	}
	if err := (Transport{RemotePlaintext: true}).CheckURL("--token-url", "http://issuer.internal/oauth/token"); err != nil {
		t.Errorf("http token URL off loopback with --allow-plaintext: %v", err)
	}
}
