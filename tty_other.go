//go:build !linux

package main

import "os"

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
