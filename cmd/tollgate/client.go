package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tollgate-rpc/tollgate/internal/securefile"
	"github.com/tollgate-rpc/tollgate/services/issuer"
)

const clientUsage = `usage: tollgate client <add|list|show|rotate-secret|revoke-previous|disable|enable|remove> [flags]

Manages the client registry (<data-dir>/clients.json). A running issuer picks
changes up without a restart. disable, remove and revoke-previous (and
rotate-secret --revoke-previous) also revoke every token the client already
holds: services subscribed to the issuer's revocation feed refuse them
within about a second.`

// clientRun is one client command after its flags are parsed: it acts on
// the registry and reports to stdout.
type clientRun func(ctx context.Context, reg *issuer.Registry, stdout io.Writer) error

// clientCommands declare each command's flags (besides --id and the store's)
// and return what runs it once they are parsed.
var clientCommands = map[string]func(f flags, id *string) clientRun{
	"list": func(flags, *string) clientRun { return clientList },
	"show": func(_ flags, id *string) clientRun {
		return func(_ context.Context, reg *issuer.Registry, w io.Writer) error { return clientShow(reg, *id, w) }
	},
	"add":             clientAdd,
	"rotate-secret":   clientRotateSecret,
	"revoke-previous": revoking(clientChange(func(c *issuer.Client, _ map[string]*issuer.Client) { c.RevokePreviousSecret() })),
	"disable":         revoking(clientChange(func(c *issuer.Client, _ map[string]*issuer.Client) { c.Disabled = true })),
	"enable":          clientChange(func(c *issuer.Client, _ map[string]*issuer.Client) { c.Disabled = false }),
	"remove":          revoking(clientChange(func(c *issuer.Client, m map[string]*issuer.Client) { delete(m, c.ID) })),
}

// revoking is a command that, once its change is stored, revokes every
// token the client holds: the change stops new tokens, the revocation the
// ones already issued.
func revoking(command func(flags, *string) clientRun) func(flags, *string) clientRun {
	return func(f flags, id *string) clientRun {
		run := command(f, id)
		return func(ctx context.Context, reg *issuer.Registry, stdout io.Writer) error {
			if err := run(ctx, reg, stdout); err != nil {
				return err
			}
			return revokeClientTokens(ctx, reg, *id)
		}
	}
}

// revokeClientTokens revokes client's tokens, saying what to run again if
// that fails after the client's change was stored.
func revokeClientTokens(ctx context.Context, reg *issuer.Registry, id string) error {
	if err := reg.RevokeTokens(ctx, id, time.Now()); err != nil {
		return fmt.Errorf("client %s changed, but its tokens already issued are not revoked (%w); run `tollgate token revoke --client %s`", id, err, id)
	}
	return nil
}

// runClient runs one of clientCommands on the issuer's store.
func runClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, clientUsage)
		return fmt.Errorf("%w: no client command", errUsage)
	}
	sub := args[0]
	if helpAsked(args[:1]) || sub == "help" {
		fmt.Fprintln(stdout, clientUsage)
		return nil
	}
	command, ok := clientCommands[sub]
	if !ok {
		fmt.Fprintln(stderr, clientUsage)
		return fmt.Errorf("%w: unknown client command %q", errUsage, sub)
	}
	f := newFlags("client "+sub, stdout, stderr)
	openStore := f.storeFlags("issuer data directory", false)
	id := f.String("id", "", "client ID")
	run := command(f, id)
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	if sub != "list" && *id == "" {
		return fmt.Errorf("%w: --id is required", errUsage)
	}
	store, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	reg, err := issuer.NewRegistry(ctx, store)
	if err != nil {
		return err
	}
	return run(ctx, reg, stdout)
}

func clientList(_ context.Context, reg *issuer.Registry, stdout io.Writer) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tENABLED\tSCOPES\tAUDIENCES\tPREVIOUS SECRET")
	now := time.Now()
	for _, c := range reg.List() {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\n", c.ID, c.Name, !c.Disabled, strings.Join(c.AllowedScopes, " "),
			strings.Join(c.AllowedAudiences, " "), previousSecret(c, now))
	}
	return tw.Flush()
}

func clientShow(reg *issuer.Registry, id string, stdout io.Writer) error {
	c, ok := reg.Lookup(id)
	if !ok {
		return fmt.Errorf("client %s: %w", id, issuer.ErrUnknownClient)
	}
	shown := *c
	shown.SecretHashes = nil // digests are not secret, but nobody needs to see them
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(shown)
}

func clientAdd(f flags, id *string) clientRun {
	name := f.String("name", "", "display name (default: the ID)")
	scopes := f.String("scopes", "", "space-separated allowed scopes")
	defScopes := f.String("default-scopes", "", "space-separated default scopes (default: all allowed)")
	auds := f.String("audiences", "", "space-separated allowed audiences (required)")
	defAuds := f.String("default-audience", "", "audience of tokens requested without one (default: the only allowed audience; with several, callers must ask)")
	lifetime := f.String("token-lifetime", "", "token lifetime, such as 5m (default 15m)")
	claims := f.String("extra-claims", "", `JSON object of static claims added to every token, such as {"tenant":"a"}`)
	secretFile := f.String("secret-file", "", "write the new secret to this file (mode 0600) instead of stdout")
	ifMissing := f.Bool("if-missing", false, "succeed without change when the client exists")
	introspect := f.Bool("introspect", false, "let the client ask /oauth/introspect about any token (RFC 7662), for a resource server that cannot verify JWTs")
	return func(ctx context.Context, reg *issuer.Registry, stdout io.Writer) error {
		if _, ok := reg.Lookup(*id); ok && *ifMissing {
			return nil
		}
		c := &issuer.Client{ID: *id, Name: *name, AllowedScopes: strings.Fields(*scopes),
			AllowedAudiences: strings.Fields(*auds), Introspect: *introspect, Created: time.Now().UTC()}
		if c.Name == "" {
			c.Name = c.ID
		}
		c.DefaultScopes = orAll(strings.Fields(*defScopes), c.AllowedScopes)
		if *defAuds != "" {
			c.DefaultAudiences = []string{*defAuds}
		}
		if *lifetime != "" {
			d, err := time.ParseDuration(*lifetime)
			if err != nil {
				return fmt.Errorf("%w: --token-lifetime %q: %v", errUsage, *lifetime, err)
			}
			c.TokenLifetime = issuer.Duration(d)
		}
		if *claims != "" {
			if err := json.Unmarshal([]byte(*claims), &c.ExtraClaims); err != nil {
				return fmt.Errorf("%w: --extra-claims: %v", errUsage, err)
			}
		}
		secret, err := issuer.NewSecret()
		if err != nil {
			return err
		}
		c.SecretHashes = []string{issuer.HashSecret(secret)}
		if err := reg.Update(ctx, func(m map[string]*issuer.Client) error {
			if _, ok := m[c.ID]; ok {
				return fmt.Errorf("client %s already exists", c.ID)
			}
			m[c.ID] = c
			return nil
		}); err != nil {
			return err
		}
		return showSecret(stdout, *secretFile, c.ID, secret)
	}
}

func clientRotateSecret(f flags, id *string) clientRun {
	secretFile := f.String("secret-file", "", "write the new secret to this file (mode 0600) instead of stdout")
	grace := issuer.DefaultSecretGrace
	f.Func("previous-secret-grace", fmt.Sprintf("how long the previous secret stays valid beside the new one, so callers can move over (default %s, at most %s)",
		issuer.DefaultSecretGrace, issuer.MaxSecretGrace), func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		if d < 0 || d > issuer.MaxSecretGrace {
			return fmt.Errorf("use 0 to %s", issuer.MaxSecretGrace)
		}
		grace = d
		return nil
	})
	revokePrevious := f.Bool("revoke-previous", false, "revoke the previous secret now (a leaked secret)")
	return func(ctx context.Context, reg *issuer.Registry, stdout io.Writer) error {
		if *revokePrevious {
			grace = 0
		}
		secret, err := issuer.NewSecret()
		if err != nil {
			return err
		}
		if err := reg.Update(ctx, func(m map[string]*issuer.Client) error {
			c, ok := m[*id]
			if !ok {
				return fmt.Errorf("client %s: %w", *id, issuer.ErrUnknownClient)
			}
			return c.RotateSecret(secret, time.Now(), grace)
		}); err != nil {
			return err
		}
		if err := showSecret(stdout, *secretFile, *id, secret); err != nil {
			return err
		}
		if *revokePrevious {
			return revokeClientTokens(ctx, reg, *id)
		}
		return nil
	}
}

// clientChange is a command that changes one existing client in place.
func clientChange(change func(c *issuer.Client, all map[string]*issuer.Client)) func(flags, *string) clientRun {
	return func(_ flags, id *string) clientRun {
		return func(ctx context.Context, reg *issuer.Registry, _ io.Writer) error {
			return reg.Update(ctx, func(m map[string]*issuer.Client) error {
				c, ok := m[*id]
				if !ok {
					return fmt.Errorf("client %s: %w", *id, issuer.ErrUnknownClient)
				}
				change(c, m)
				return nil
			})
		}
	}
}

// previousSecret describes the client's previous secret for `client list`.
func previousSecret(c *issuer.Client, now time.Time) string {
	switch {
	case len(c.SecretHashes) < 2:
		return "-"
	case c.PreviousSecretExpires.IsZero():
		return "valid, no expiry (revoke-previous ends it)"
	case now.Before(c.PreviousSecretExpires):
		return "valid until " + c.PreviousSecretExpires.UTC().Format(time.RFC3339)
	default:
		return "expired " + c.PreviousSecretExpires.UTC().Format(time.RFC3339)
	}
}

func orAll(given, all []string) []string {
	if len(given) == 0 {
		return slices.Clone(all)
	}
	return given
}

// showSecret hands a new secret over exactly once: to a 0600 file, or to
// stdout with a reminder that it will not be shown again.
func showSecret(stdout io.Writer, file, id, secret string) error {
	if file != "" {
		if err := securefile.Write(file, []byte(secret+"\n")); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "client %s: secret written to %s\n", id, file)
		return err
	}
	_, err := fmt.Fprintf(stdout, "client_id:     %s\nclient_secret: %s\n(the secret is stored only as a hash and is not shown again)\n", id, secret)
	return err
}
