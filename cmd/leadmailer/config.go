package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
)

func configCommand() *command {
	return &command{
		name:    "config",
		summary: "print an example configuration, or check the configuration file",
		usage: `Usage: leadmailer config example
       leadmailer config check [--config FILE] [--data DIR]

leadmailer reads its settings from leadmailer.toml in the data directory, or from the file
given with --config. "leadmailer init" writes a starter file with placeholders for the sender;
everything else has defaults.

  example   print a configuration with every setting explained, to copy from
  check     read the configuration file and report every problem with the key that holds it,
            including sender values that must be filled in before mail can be sent; it also
            reads and parses every file the configuration names (smtp.dkim.key_file,
            web.tls_cert_file, web.tls_key_file) and fails naming the one that is wrong

Examples:
  leadmailer config example > leadmailer-data/leadmailer.toml
  leadmailer config check
`,
		run: runConfig,
	}
}

func runConfig(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("give a subcommand: example or check")
	}
	if isHelp(args[0]) {
		return flag.ErrHelp
	}
	switch args[0] {
	case "example":
		if len(args) > 1 {
			return usagef("config example takes no arguments")
		}
		fmt.Fprint(e.stdout, config.Example)
		return nil
	case "check":
		fs, dataDir := newFlags("config check", e)
		configPath := configFlag(fs, e)
		rest, err := parseFlags(fs, args[1:])
		if err != nil {
			return err
		}
		if len(rest) > 0 {
			return usagef("config check takes no arguments, got %q", rest)
		}
		cfg, err := loadConfig(*dataDir, *configPath, e)
		if err != nil {
			return err
		}
		if cfg.Path == "" {
			// Nothing else to check: say once what to do.
			fmt.Fprintf(e.stdout, "No configuration file at %s: the defaults apply, and mail cannot be sent until\n"+
				"\"leadmailer init\" writes one and you fill in its public_url and [sender] values.\n",
				filepath.Join(*dataDir, config.FileName))
			return nil
		}
		fmt.Fprintf(e.stdout, "%s: valid, %s.\n", cfg.Path, plural(len(cfg.Sources), "source", "sources"))
		for _, w := range cfg.Warnings() {
			fmt.Fprintf(e.stdout, "Warning: %s.\n", w)
		}
		// A file the configuration names is only read when it is needed, by a send or by
		// serve: read and parse each one now, so that "mail can be sent" is true.
		fileErr := checkConfigFiles(cfg)
		senderErr := cfg.SenderReady()
		switch {
		case senderErr != nil:
			fmt.Fprintf(e.stdout, "Before sending mail:\n%v\n", senderErr)
		case fileErr == nil:
			fmt.Fprintln(e.stdout, "The sender is configured: mail can be sent.")
		}
		if fileErr != nil {
			return leadmailer.Errorf(leadmailer.EINVALID, "%s names files that cannot be used:\n%v", cfg.Path, fileErr)
		}
		return nil
	}
	return usagef("unknown subcommand %q: use example or check", args[0])
}

// checkConfigFiles opens and parses every file the configuration names, and returns one
// error per file that is missing or wrong, each naming its key.
func checkConfigFiles(cfg *config.Config) error {
	var errs []error
	if cfg.SMTP.DKIM.KeyFile != "" {
		if _, err := loadDKIMKey(cfg.SMTP.DKIM.KeyFile); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.Web.TLSCertFile != "" && cfg.Web.TLSKeyFile != "" {
		if _, err := loadTLSFiles(cfg.Web.TLSCertFile, cfg.Web.TLSKeyFile); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// loadTLSFiles reads serve's certificate chain and private key, saying which file is wrong.
func loadTLSFiles(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("web.tls_cert_file: %w", err)
	}
	if err := checkCertificatePEM(certPEM); err != nil {
		return tls.Certificate{}, fmt.Errorf("web.tls_cert_file %s: %w", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("web.tls_key_file: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("web.tls_key_file %s: %w (it must be the PEM private key of web.tls_cert_file)", keyFile, err)
	}
	return pair, nil
}

// checkCertificatePEM checks that data holds PEM certificates, and nothing else that could
// be taken for one.
func checkCertificatePEM(data []byte) error {
	n := 0
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return fmt.Errorf("holds a PEM %q block: give the certificate (chain) here and the key in web.tls_key_file", b.Type)
		}
		n++
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return fmt.Errorf("certificate %d: %w", n, err)
		}
	}
	if n == 0 {
		return errors.New("no PEM certificate in it (a file starting with -----BEGIN CERTIFICATE-----)")
	}
	return nil
}

// configFlag adds --config to a command's flags. Its default is the environment's
// LEADMAILER_CONFIG; empty means leadmailer.toml in the data directory.
func configFlag(fs *flag.FlagSet, e *env) *string {
	return fs.String("config", e.getenv("LEADMAILER_CONFIG"), "configuration file")
}

// loadConfig reads the configuration: the file named by --config, which must exist, or
// leadmailer.toml in the data directory, which may not yet.
func loadConfig(dataDir, configPath string, e *env) (*config.Config, error) {
	if configPath != "" {
		return config.Load(configPath, true, e.getenv)
	}
	return config.Load(filepath.Join(dataDir, config.FileName), false, e.getenv)
}

// writeStarterConfig writes the starter configuration into the data directory unless a
// configuration file is already there, and reports whether it wrote one.
func writeStarterConfig(dataDir string) (bool, error) {
	path := filepath.Join(dataDir, config.FileName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("write configuration: %w", err)
	}
	if _, err := f.WriteString(config.Starter); err != nil {
		f.Close()
		return false, fmt.Errorf("write configuration %s: %w", path, err)
	}
	return true, f.Close()
}
