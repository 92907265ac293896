//go:build !unix

package campaign

// Lock is a no-op where flock(2) is missing: there, the caller must not run one campaign
// from two processes at once.
func Lock(dir string, id int64) (unlock func(), err error) {
	return func() {}, nil
}
