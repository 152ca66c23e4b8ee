// Command loadtest measures what Tollgate's auth costs, with ghz.
//
//	go run -C loadtest . run      # the whole A/B comparison, writes runs/latest/ (--out results: the committed report)
//	go run -C loadtest . stores --database-url postgres://…   # the issuer on PostgreSQL vs the data directory, writes runs/latest/stores.md
//	go run -C loadtest . revocation [--rounds 50 --load 8]   # revoke → refused latency under load, writes runs/latest/revocation.md
//	go run -C loadtest . serve --mode auth|baseline|issuer [--tls] [--database-url …]
//
// "serve" starts one server process and prints its addresses (and, for auth
// mode, the dev clients) as one JSON line, so the ghz CLI can be pointed at
// it too. The baseline server is built here from the same service
// implementations without the auth interceptors: the product binary has no
// switch that turns auth off.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	const usage = "usage: loadtest run [flags] | loadtest stores --database-url URL [flags] | loadtest revocation [flags] | loadtest serve --mode auth|baseline|issuer [flags]\n(loadtest <command> -h lists a command's flags)"
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "-h", "-help", "--help", "help":
		fmt.Println(usage)
		return
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runComparison(ctx, os.Args[2:])
	case "stores":
		err = compareStores(ctx, os.Args[2:])
	case "revocation":
		err = measureRevocation(ctx, os.Args[2:])
	case "serve":
		err = serve(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q\n%s", os.Args[1], usage)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}
