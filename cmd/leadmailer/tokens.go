package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/auth"
	"github.com/leadmailer/leadmailer/config"
)

func tokensCommand() *command {
	return &command{
		name:    "tokens",
		summary: "add, list and revoke the tokens programs use to call the JSON API",
		usage: `Usage:
  leadmailer tokens add NAME --role viewer|marketer|admin [--expires 90d]
  leadmailer tokens list [--json]
  leadmailer tokens revoke NAME

A program calls the JSON API at /api/v1/ of "leadmailer serve" with a token in the header
"Authorization: Bearer TOKEN". A token has a role, with the same rules as the web app's users
(see "leadmailer help users"), and a name that the audit trail records for its calls and that
leads the token pushes carry as their source. Give each program its own token.

"tokens add" prints the new token once; only its hash is stored, so it cannot be shown again.
A token lost is revoked and replaced. --expires makes it stop working after that long (days as
"90d", or hours as "36h"); without it, it works until revoked. Revoking takes effect at the next
call. "tokens list" never shows tokens, only their names, roles, dates and states.

Examples:
  leadmailer tokens add crm --role marketer --expires 90d
  leadmailer tokens list
  leadmailer tokens revoke crm
`,
		run: runTokens,
	}
}

func runTokens(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("say add, list or revoke")
	}
	if isHelp(args[0]) {
		return flag.ErrHelp
	}
	sub := args[0]
	fs, dataDir := newFlags("tokens "+sub, e)
	role := fs.String("role", "", "")
	expires := fs.String("expires", "", "")
	asJSON := fs.Bool("json", false, "")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		if len(rest) > 0 {
			return usagef("tokens list takes no arguments, got %q", rest)
		}
	case "add", "revoke":
		if len(rest) != 1 {
			return usagef("tokens %s needs one token NAME", sub)
		}
		if err := leadmailer.ValidateTokenName(rest[0]); err != nil {
			return err
		}
	default:
		return usagef("unknown tokens command %q: say add, list or revoke", sub)
	}
	var lifetime time.Duration
	if sub == "add" {
		if !leadmailer.Role(*role).Valid() {
			return usagef("--role %q: use viewer, marketer or admin", *role)
		}
		if *expires != "" {
			d, err := config.ParseDuration(*expires)
			if err != nil || d <= 0 {
				return usagef("--expires %q: give a length of time such as 90d or 36h", *expires)
			}
			lifetime = d.D()
		}
	}
	db, err := openData(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "add":
		token := auth.NewAPIToken()
		t := &leadmailer.APIToken{Name: rest[0], Role: leadmailer.Role(*role), TokenHash: auth.HashToken(token), CreatedBy: actor(e)}
		detail := "role " + *role
		if lifetime > 0 {
			at := time.Now().UTC().Add(lifetime).Truncate(time.Second)
			t.ExpiresAt = &at
			detail += ", expires " + at.Format(time.RFC3339)
		}
		audit := &leadmailer.AuditEntry{Actor: actor(e), Action: leadmailer.AuditTokenAdd, Target: t.Name, Detail: detail, IP: "local"}
		if err := db.CreateAPIToken(ctx, t, audit); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "Added token %s with role %s. Copy it now: it is not stored and cannot be shown again.\n", t.Name, t.Role)
		fmt.Fprintln(e.stdout, token)
		return nil
	case "revoke":
		audit := &leadmailer.AuditEntry{Actor: actor(e), Action: leadmailer.AuditTokenRevoke, Target: rest[0], IP: "local"}
		if err := db.RevokeAPIToken(ctx, rest[0], audit); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Revoked token %s; calls with it are refused from now on.\n", rest[0])
		return nil
	}
	tokens, err := db.FindAPITokens(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	if *asJSON {
		type listed struct {
			*leadmailer.APIToken
			Status string `json:"status"`
		}
		out := []listed{}
		for _, t := range tokens {
			out = append(out, listed{t, t.Status(now)})
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATUS\tCREATED\tEXPIRES\tLAST USED")
	for _, t := range tokens {
		expires, used := "never", "never"
		if t.ExpiresAt != nil {
			expires = t.ExpiresAt.Format(time.DateTime)
		}
		if t.LastUsedAt != nil {
			used = t.LastUsedAt.Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, t.Status(now), t.CreatedAt.Format(time.DateTime), expires, used)
	}
	return tw.Flush()
}
