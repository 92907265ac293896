package main

import (
	"encoding/json"
	"fmt"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
)

// auditEntries reads the whole audit trail through "audit --json", oldest first.
func auditEntries(t *testing.T, data string) []leadmailer.AuditEntry {
	t.Helper()
	var entries []leadmailer.AuditEntry
	lmJSON(t, data, &entries, "audit", "--json", "--limit", "0")
	for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
		entries[i], entries[j] = entries[j], entries[i]
	}
	return entries
}

// TestPrivacyAndCampaignCommandsAreAudited runs each command that changes or reveals
// personal data and finds its entry in the trail, attributed to the operating system user;
// the erasure's entry, and every other, holds neither the erased address nor the suppressed
// domain.
func TestPrivacyAndCampaignCommandsAreAudited(t *testing.T) {
	t.Parallel()
	srv := smtptest.New(t)
	data := importFixtures(t)
	writeConfig(t, data, senderConfig(srv.URL(), "\n[retention]\ninactive_after = \"730d\"\ndelete_after = \"1ns\"\n"))
	var erik leadmailer.Lead
	var shown leadShow
	lmJSON(t, data, &shown, "leads", "show", "erik@example.se", "--json")
	erik = shown.Lead

	lm(t, data, "leads", "export", "anna.virtanen@example.fi", "--format", "csv")
	lm(t, data, "leads", "erase", "erik@example.se", "--reason", "asked erik@example.se by phone")
	lm(t, data, "suppress", "add", "@example.de", "--reason", "no marketing")
	lm(t, data, "leads", "end-relationship", "liisa@example.fi")
	lm(t, data, "retention", "run")
	lm(t, data, "backup", filepath.Join(t.TempDir(), "copy.db"))
	id := createCampaign(t, data)
	sid := fmt.Sprint(id)
	lm(t, data, "campaigns", "send", sid)
	lm(t, data, "campaigns", "recipients", sid)
	other := createCampaign(t, data)
	lm(t, data, "campaigns", "cancel", fmt.Sprint(other))

	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	entries := auditEntries(t, data)
	byAction := map[string]leadmailer.AuditEntry{}
	for _, a := range entries {
		if _, seen := byAction[a.Action]; !seen {
			byAction[a.Action] = a
		}
		if a.Actor != "os:"+name {
			t.Errorf("entry %d (%s) is by %q, want os:%s", a.ID, a.Action, a.Actor, name)
		}
	}
	for _, tt := range []struct{ action, target, detail string }{
		{leadmailer.AuditLeadExport, "lead 1", "format csv"},
		{leadmailer.AuditLeadErase, fmt.Sprintf("lead %d", erik.ID), "suppression "},
		{leadmailer.AuditSuppressionAdd, "domain ", "1 lead made inactive"},
		{leadmailer.AuditLeadEndRelationship, "lead ", ""},
		{leadmailer.AuditRetentionRun, "", "deleted 2 leads"}, // liisa, and hans, whose domain is suppressed
		{leadmailer.AuditBackup, "copy.db", "1 lead"},
		{leadmailer.AuditCampaignCreate, "campaign " + sid, `"Spring", draft`},
		{leadmailer.AuditCampaignSend, "campaign " + sid, "from draft"},
		{leadmailer.AuditCampaignRecipients, "campaign " + sid, ""},
		{leadmailer.AuditCampaignCancel, fmt.Sprintf("campaign %d", other), ""},
	} {
		a, ok := byAction[tt.action]
		if !ok {
			t.Errorf("no %s entry in the trail", tt.action)
			continue
		}
		if !strings.Contains(a.Target, tt.target) || !strings.Contains(a.Detail, tt.detail) {
			t.Errorf("%s entry: target %q, detail %q; want %q and %q", tt.action, a.Target, a.Detail, tt.target, tt.detail)
		}
	}
	// The trail cannot be edited after an erasure: it must never have held the address. The
	// one exception is the "leads show" above, which by design names what was looked at.
	for _, a := range entries {
		if a.Action == leadmailer.AuditLeadView {
			continue
		}
		raw, _ := json.Marshal(a)
		for _, secret := range []string{"erik", "example.de"} {
			if strings.Contains(strings.ToLower(string(raw)), secret) {
				t.Errorf("entry %d (%s) holds %q: %s", a.ID, a.Action, secret, raw)
			}
		}
	}
	mustContain(t, "audit verify", lm(t, data, "audit", "verify").stdout, "intact")
}

// TestSourcesRunIsAudited: a run from the command line leaves an entry per import run, with
// its counts, also when the run fails.
func TestSourcesRunIsAudited(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	srv := registryServer(t)
	writeSourcesConfig(t, data, srv.URL)
	lmEnv(t, data, "sources", "run", "prh")
	// Without the API key the run fails before it asks: the failed run is audited too.
	if r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "sources", "run", "prh"); r.code != exitError {
		t.Fatalf("sources run without its key: exit %d, want 1\n%s", r.code, r.stderr)
	}
	var runs []leadmailer.AuditEntry
	for _, a := range auditEntries(t, data) {
		if a.Action == leadmailer.AuditSourceRun {
			runs = append(runs, a)
		}
	}
	if len(runs) != 2 {
		t.Fatalf("source.run entries = %+v, want 2", runs)
	}
	mustContain(t, "first run's entry", runs[0].Target+" "+runs[0].Detail, "run 1", `source "prh"`, "completed", "3 read")
	mustContain(t, "failed run's entry", runs[1].Target+" "+runs[1].Detail, "run 2", "failed", "PRH_KEY is not set")
}
