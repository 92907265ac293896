package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/store"
)

// The data directory's files.
const (
	dbFile     = "leadmailer.db"
	secretFile = "secret.key"
)

// openData creates the data directory if it is missing, with its secret key, and opens the
// database, migrating its schema. Every command goes through here, so the first command on a
// fresh machine needs no set-up step. The database is the one the configuration names: see
// openDataAt, with the file LEADMAILER_CONFIG names, as for a command's --config.
func openData(ctx context.Context, dir string) (*store.DB, error) {
	return openDataWith(ctx, dir, store.Options{})
}

// openDataWith is openData with store options.
func openDataWith(ctx context.Context, dir string, opts store.Options) (*store.DB, error) {
	return openDataAt(ctx, dir, os.Getenv(configEnv), os.Getenv, opts)
}

// configEnv names the configuration file of every command, as --config does.
const configEnv = "LEADMAILER_CONFIG"

// openDataAt is openData for a command given a configuration file (--config; "" for the
// data directory's leadmailer.toml) and the environment to read LEADMAILER_DATABASE_URL
// from. The suppression and audit keys are always the data directory's. The database is the
// data directory's SQLite file unless [database] url of that configuration file, or the
// environment, names a PostgreSQL database: a serve started with --config must use the
// database its file names, and so must every command given the same file.
func openDataAt(ctx context.Context, dir, configPath string, getenv func(string) string, opts store.Options) (*store.DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	key, err := loadSecret(filepath.Join(dir, secretFile))
	if err != nil {
		return nil, err
	}
	opts.SuppressionKey, opts.AuditKey, opts.DataDir = key, auditKey(key), dir
	d, err := loadDatabaseConfig(dir, configPath, getenv)
	if err != nil {
		return nil, err
	}
	if d.URL == "" {
		return store.Open(ctx, filepath.Join(dir, dbFile), opts)
	}
	opts.MaxConns, opts.StatementTimeout, opts.ImportWriters = d.MaxConns, time.Duration(d.StatementTimeout), d.ImportWriters
	db, err := store.OpenURL(ctx, d.URL, opts)
	if leadmailer.ErrorCode(err) == leadmailer.EINVALID {
		// The URL itself is wrong: say which setting to fix.
		return nil, fmt.Errorf("%s: %w", d.URLSetting, err)
	}
	return db, err
}

// loadDatabaseConfig reads [database] of the configuration file configPath, which must
// exist, or else of the data directory's leadmailer.toml, which may not yet.
func loadDatabaseConfig(dir, configPath string, getenv func(string) string) (config.Database, error) {
	if configPath != "" {
		return config.LoadDatabase(configPath, true, getenv)
	}
	return config.LoadDatabase(filepath.Join(dir, config.FileName), false, getenv)
}

// auditKey derives the key of the audit chain's hashes from the secret key. It lives outside
// the database, so someone who can write the database but not read secret.key cannot rewrite
// history and recompute the chain. Derived rather than the secret itself: the suppression
// hashes use that, and a key should serve one purpose.
func auditKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("leadmailer audit chain"))
	return m.Sum(nil)
}

// loadSecret reads the data directory's secret key, creating it on first use. The key signs
// unsubscribe links and keys the suppression list's hashes and (derived) the audit chain:
// losing it would make suppressed addresses unrecognisable and the audit trail unverifiable,
// so it is written once and never replaced.
func loadSecret(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) < 32 {
			return nil, fmt.Errorf("secret key %s is shorter than 32 bytes: restore it from a backup", path)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	key = make([]byte, 32)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadSecret(path) // another process created it first
	}
	if err != nil {
		return nil, fmt.Errorf("create secret key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fmt.Errorf("write secret key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write secret key: %w", err)
	}
	return key, f.Close()
}
