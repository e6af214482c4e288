//go:build !linux

package command

import (
	"errors"
	"os"
)

// isTerminal is a character device that is not /dev/null: close enough
// where the TCGETS ioctl is spelled otherwise.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}

// readSecret cannot turn echo off here: use --passphrase-file.
func readSecret(*os.File) ([]byte, error) {
	return nil, errors.New("reading a passphrase from the terminal is not supported here: use --passphrase-file")
}
