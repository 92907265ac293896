package store

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
)

// Ready reports whether the database answers and holds the schema this build expects: a
// database restored from an older backup, or one a newer build migrated further, is not.
func (db *DB) Ready(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("database %s: %w", db.where, err)
	}
	have, err := db.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("database %s: reading the schema version: %w", db.where, err)
	}
	if want := latestMigration(db.migrationsDir()); have != want {
		return fmt.Errorf("database %s: schema version %d, this build expects %d", db.where, have, want)
	}
	return nil
}

// latestMigration is the number of the newest embedded migration in dir.
func latestMigration(dir string) int {
	names, _ := fs.Glob(migrations, dir+"/*.sql")
	latest := 0
	for _, name := range names {
		if v, err := strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0]); err == nil && v > latest {
			latest = v
		}
	}
	return latest
}
