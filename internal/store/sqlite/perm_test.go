package sqlite_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/reservd/reservd/internal/store/sqlite"
)

// TestFilesPrivate: DATA_DIR is 0700 and the database, its WAL and its
// shared memory are 0600 whatever the umask, including files an earlier
// version left world-readable.
func TestFilesPrivate(t *testing.T) {
	t.Parallel()
	for _, existing := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "data")
		path := filepath.Join(dir, "reservd.db")
		if existing {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				os.Chmod(p, 0o644) // past the umask
			}
			os.Chmod(dir, 0o755)
		}
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		if err := s.Migrate(t.Context()); err != nil { // writes: the WAL and shared memory exist
			t.Fatalf("migrate: %v", err)
		}
		check := func(p string, want fs.FileMode) {
			t.Helper()
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Perm(); got != want {
				t.Errorf("existing=%v: %s is %v, want %v", existing, filepath.Base(p), got, want)
			}
		}
		check(dir, 0o700)
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			check(p, 0o600)
		}
		s.Close()
	}
}
