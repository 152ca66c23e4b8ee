// Command tollgate runs Tollgate: the whole suite on one machine (dev), each
// service alone (issuer, inventory, orders), and the tools around them
// (token).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `usage: tollgate <command> [flags]

commands:
  dev        run issuer, inventory and orders on loopback with dev clients
  issuer     run the token issuer
  inventory  run the inventory service
  orders     run the orders service
  token      print an access token for a client
  client     manage the issuer's client registry
  health     check a service, for container health checks
  certs      make a local CA and a server certificate (for docker-compose)
  version    print the version and the commit it was built from

Run 'tollgate <command> -h' for a command's flags. Every flag can also be set
through the environment as TOLLGATE_<FLAG> (for example TOLLGATE_DATA_DIR).`

// command runs one command (or subcommand) with its arguments.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// errUsage marks a command-line mistake; main exits 2 for it.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "tollgate:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "tollgate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("%w: no command", errUsage)
	}
	cmds := map[string]command{
		"dev":       runDev,
		"issuer":    runIssuer,
		"inventory": runInventory,
		"orders":    runOrders,
		"token":     runToken,
		"client":    runClient,
		"health":    runHealth,
		"certs":     runCerts,
		"version":   runVersion,
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

// flags is a FlagSet whose every flag falls back to TOLLGATE_<NAME>.
type flags struct {
	*flag.FlagSet
	stdout io.Writer // where -h prints the usage
}

func newFlags(name string, stdout, stderr io.Writer) flags {
	fs := flag.NewFlagSet("tollgate "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return flags{fs, stdout}
}

// helpAsked reports whether args ask for help (-h, -help, --help) before any
// "--" that ends the flags.
func helpAsked(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// envName is the environment variable of a flag: data-dir → TOLLGATE_DATA_DIR.
func envName(flagName string) string {
	return "TOLLGATE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse reads args, then fills every flag not given on the command line from
// its environment variable. Errors name the bad flag or variable.
func (f flags) parse(args []string) error {
	operands, err := f.parseOperands(args)
	if err == nil && len(operands) > 0 {
		err = fmt.Errorf("%w: unexpected argument %q", errUsage, operands[0])
	}
	return err
}

// parseOperands is parse for a command that takes operands (health's
// target): flags may come before and after them; it returns the operands.
func (f flags) parseOperands(args []string) ([]string, error) {
	if helpAsked(args) { // asked for: usage on stdout, exit 0
		f.SetOutput(f.stdout)
		f.Usage()
		return nil, flag.ErrHelp
	}
	var operands []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		if f.NArg() == 0 {
			break
		}
		operands, args = append(operands, f.Arg(0)), f.Args()[1:]
	}
	return operands, f.fromEnvironment()
}

// fromEnvironment fills every flag not given on the command line from its
// environment variable.
func (f flags) fromEnvironment() error {
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var err error
	f.VisitAll(func(fl *flag.Flag) {
		if set[fl.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(fl.Name)); ok {
			if e := f.Set(fl.Name, v); e != nil {
				err = fmt.Errorf("%w: %s=%q: %v", errUsage, envName(fl.Name), v, e)
			}
		}
	})
	return err
}

// given reports whether the flag was set, on the command line or through
// its environment variable.
func (f flags) given(name string) bool {
	found := false
	f.Visit(func(fl *flag.Flag) { found = found || fl.Name == name })
	return found
}

// logFlags adds --log-level and --log-format and returns a constructor for
// the logger they describe.
func (f flags) logFlags() func(io.Writer) (*slog.Logger, error) {
	level := f.String("log-level", "info", "log level: debug, info, warn or error")
	format := f.String("log-format", "text", "log format: text or json")
	return func(w io.Writer) (*slog.Logger, error) {
		var lv slog.Level
		if err := lv.UnmarshalText([]byte(*level)); err != nil {
			return nil, fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", errUsage, *level)
		}
		opts := &slog.HandlerOptions{Level: lv}
		switch *format {
		case "text":
			return slog.New(slog.NewTextHandler(w, opts)), nil
		case "json":
			return slog.New(slog.NewJSONHandler(w, opts)), nil
		}
		return nil, fmt.Errorf("%w: --log-format %q: want text or json", errUsage, *format)
	}
}
