package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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
            including sender values that must be filled in before mail can be sent

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
			fmt.Fprintf(e.stdout, "No configuration file at %s: the defaults apply. Run \"leadmailer init\" to write one.\n",
				filepath.Join(*dataDir, config.FileName))
		} else {
			fmt.Fprintf(e.stdout, "%s: valid, %d source(s).\n", cfg.Path, len(cfg.Sources))
		}
		if err := cfg.SenderReady(); err != nil {
			fmt.Fprintf(e.stdout, "Before sending mail:\n%v\n", err)
		} else {
			fmt.Fprintln(e.stdout, "The sender is configured: mail can be sent.")
		}
		return nil
	}
	return usagef("unknown subcommand %q: use example or check", args[0])
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
