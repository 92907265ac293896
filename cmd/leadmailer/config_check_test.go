package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testTLSFiles writes a self-signed certificate for localhost and its key into dir.
func testTLSFiles(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, dir, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, dir, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	return certFile, keyFile
}

func testDKIMKeyFile(t *testing.T, dir string) string {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "dkim.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
}

// TestConfigCheckReadsNamedFiles: config check opens and parses the DKIM key and the TLS
// certificate and key the configuration names, and fails naming the key of each file that
// is missing or wrong, instead of saying that mail can be sent.
func TestConfigCheckReadsNamedFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dkim := testDKIMKeyFile(t, dir)
	cert, key := testTLSFiles(t, dir)
	garbage := writeFile(t, dir, "garbage.pem", "this is not PEM\n")
	otherCert, _ := testTLSFiles(t, t.TempDir())
	files := func(dkim, cert, key string) string {
		return fmt.Sprintf("\n[smtp.dkim]\ndomain = \"focus.example\"\nselector = \"lm1\"\nkey_file = %q\n\n[web]\ntls_cert_file = %q\ntls_key_file = %q\n", dkim, cert, key)
	}
	tests := []struct {
		name, files string
		want        []string // in stderr; none: the check passes
	}{
		{"all files good", files(dkim, cert, key), nil},
		{"missing DKIM key", files(filepath.Join(dir, "missing.pem"), cert, key), []string{"smtp.dkim.key_file", "missing.pem", "no such file"}},
		{"DKIM key is garbage", files(garbage, cert, key), []string{"smtp.dkim.key_file " + garbage}},
		{"TLS certificate is garbage", files(dkim, garbage, key), []string{"web.tls_cert_file " + garbage, "no PEM certificate"}},
		{"TLS key is garbage", files(dkim, cert, garbage), []string{"web.tls_key_file " + garbage}},
		{"TLS key is the certificate", files(dkim, key, key), []string{"web.tls_cert_file " + key, `PEM "PRIVATE KEY" block`}},
		{"TLS key of another certificate", files(dkim, otherCert, key), []string{"web.tls_key_file " + key, "private key does not match"}},
		{"both wrong", files(garbage, garbage, key), []string{"smtp.dkim.key_file " + garbage, "web.tls_cert_file " + garbage}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			writeConfig(t, data, senderConfig("", tc.files))
			r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "config", "check")
			if tc.want == nil {
				if r.code != exitOK || !strings.Contains(r.stdout, "mail can be sent") {
					t.Errorf("exit %d, stdout %q, stderr %q; want success saying mail can be sent", r.code, r.stdout, r.stderr)
				}
				return
			}
			if r.code != exitError {
				t.Errorf("exit %d, want %d", r.code, exitError)
			}
			if strings.Contains(r.stdout, "mail can be sent") {
				t.Errorf("says mail can be sent:\n%s", r.stdout)
			}
			mustContain(t, "stderr", r.stderr, tc.want...)
		})
	}
}

// TestServeAnswersHTTPSWithConfiguredCertificate: with [web] tls_cert_file and tls_key_file,
// serve answers HTTPS with that certificate; a garbage certificate stops it before it listens,
// naming the key.
func TestServeAnswersHTTPSWithConfiguredCertificate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	dir := t.TempDir()
	cert, key := testTLSFiles(t, dir)
	data := filepath.Join(t.TempDir(), "data")
	writeConfig(t, data, fmt.Sprintf("[web]\ntls_cert_file = %q\ntls_key_file = %q\n", cert, key))
	addr := freeAddr(t)
	c := startLeadmailer(t, "serve", "--listen", addr, "--data", data)
	pool := x509.NewCertPool()
	certPEM, _ := os.ReadFile(cert)
	pool.AppendCertsFromPEM(certPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := hc.Get("https://" + addr + "/login")
		if err == nil {
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET /login over HTTPS: %s", res.Status)
			}
			break
		}
		select {
		case <-c.done:
			t.Fatalf("serve exited: %v\nstderr:\n%s", c.err, c.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer HTTPS within 30s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(c.stdout.String(), "https://") {
		t.Errorf("serve does not say it serves HTTPS:\n%s", c.stdout.String())
	}

	other := filepath.Join(t.TempDir(), "data")
	writeConfig(t, other, fmt.Sprintf("[web]\ntls_cert_file = %q\ntls_key_file = %q\n", writeFile(t, dir, "garbage.pem", "garbage"), key))
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": other}, "", "serve", "--listen", freeAddr(t))
	if r.code != exitError || !strings.Contains(r.stderr, "web.tls_cert_file") {
		t.Errorf("serve with a garbage certificate: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestPublicURLMustBeHTTPS: config check warns of a plain http public_url on this machine and
// refuses one elsewhere, naming the key; serve refuses such a --public-url the same way.
func TestPublicURLMustBeHTTPS(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url, wantOut, wantErr string
	}{
		{"http://127.0.0.1:8080", "Warning: public_url \"http://127.0.0.1:8080\" is plain http on this machine only", ""},
		{"http://[::1]:8080", "Warning: public_url", ""},
		{"http://leads.focus.example", "", "public_url: \"http://leads.focus.example\" must start with https://"},
	} {
		data := filepath.Join(t.TempDir(), "data")
		writeConfig(t, data, strings.Replace(senderConfig("", ""), `public_url = "https://leads.focus.example"`, fmt.Sprintf("public_url = %q", tc.url), 1))
		r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "config", "check")
		if tc.wantErr != "" {
			if r.code != exitError || !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("public_url %q: exit %d, stderr %q; want an error containing %q", tc.url, r.code, r.stderr, tc.wantErr)
			}
			continue
		}
		if r.code != exitOK || !strings.Contains(r.stdout, tc.wantOut) {
			t.Errorf("public_url %q: exit %d, stdout %q; want %q", tc.url, r.code, r.stdout, tc.wantOut)
		}
	}
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": filepath.Join(t.TempDir(), "data")}, "", "serve", "--public-url", "http://leads.focus.example")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--public-url") || !strings.Contains(r.stderr, "https://") {
		t.Errorf("serve --public-url http://...: exit %d, stderr %q", r.code, r.stderr)
	}
}
