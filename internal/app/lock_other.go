//go:build !unix

package app

import "os"

// lockFile only creates the file where advisory locks are not available:
// running two workers on one SQLite database is then up to the operator.
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
}
