package transport

import (
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
