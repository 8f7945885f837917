// Package dirlock gives one process at a time a folder: an exclusive flock(2) on DIR/.lock, a
// file that holds the holder's pid. The lock lasts until Release or the process's end (the
// kernel drops a flock with its last descriptor, so a killed holder never leaves a stale lock).
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Name is the lock file's name inside the folder it locks.
const Name = ".lock"

// Lock is a held folder lock.
type Lock struct {
	f    *os.File
	path string
}

// HeldError says that another process holds the folder.
type HeldError struct {
	Dir string
	PID int // 0 when the holder's pid could not be read
}

func (e *HeldError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = fmt.Sprintf("process %d", e.PID)
	}
	return fmt.Sprintf("%s is in use by %s (lock %s): wait for it to end, or stop it; two processes must not write one folder",
		e.Dir, who, filepath.Join(e.Dir, Name))
}

// Acquire locks dir, which must exist, without waiting: a folder another process holds is a
// *HeldError naming the holder's pid.
func Acquire(dir string) (*Lock, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a folder", dir)
	}
	path := filepath.Join(dir, Name)
	for range 100 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", dir, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, &HeldError{Dir: dir, PID: readPID(path)}
			}
			return nil, fmt.Errorf("lock %s: %w", dir, err)
		}
		// The holder removes the file when it releases; a lock taken on a file that was removed
		// (or replaced) meanwhile locks nothing: take it again on the file now at the path.
		if same(f, path) {
			if err := f.Truncate(0); err == nil {
				_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
			}
			return &Lock{f: f, path: path}, nil
		}
		f.Close()
	}
	return nil, fmt.Errorf("lock %s: the lock file keeps changing", dir)
}

// AcquireDir creates dir when it is missing, then locks it.
func AcquireDir(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return Acquire(dir)
}

// Release removes the lock file and drops the lock. It may be called more than once.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := os.Remove(l.path) // while still held, so that no one locks the removed file
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

func same(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}
