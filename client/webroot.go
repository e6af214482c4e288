package client

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// A web root belongs to whoever runs the web site, and `certmaker get`
// may run as root: a symbolic link planted there must never make it write
// elsewhere. So every step is taken relative to a directory already
// opened (os.Root: openat, nothing escapes the web root even under a
// race), a directory on the way that is a symbolic link is refused, and
// the token is written to a new file (O_EXCL never follows a link) that
// is then renamed over the name (rename replaces a link, never writes
// through it).

// errSymlink is a symbolic link where the token goes.
var errSymlink = errors.New("is a symbolic link; refusing to write the challenge token through it")

// webrootFile is a token written below a web root, to remove when done.
type webrootFile struct {
	dir  *os.Root // the token's directory
	name string
	info fs.FileInfo // what was written, to remove only that
}

// writeWebroot writes data to rel (slash-separated, such as
// challenge.WellKnownPath) below the directory webRoot.
func writeWebroot(webRoot, rel string, data []byte) (*webrootFile, error) {
	dir, err := os.OpenRoot(webRoot)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(strings.Trim(rel, "/"), "/")
	name := parts[len(parts)-1]
	where := webRoot
	for _, p := range parts[:len(parts)-1] {
		where = filepath.Join(where, p)
		sub, err := openDirNoFollow(dir, p, where)
		dir.Close()
		if err != nil {
			return nil, err
		}
		dir = sub
	}
	f, err := writeNoFollow(dir, name, filepath.Join(where, name), data)
	if err != nil {
		dir.Close()
		return nil, err
	}
	return f, nil
}

// openDirNoFollow opens (making it if need be) the directory name in dir,
// refusing a symbolic link: Lstat says what the name is, and the directory
// opened must be the one it saw, so a link swapped in between is refused
// too.
func openDirNoFollow(dir *os.Root, name, where string) (*os.Root, error) {
	if err := dir.Mkdir(name, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	seen, err := dir.Lstat(name)
	if err != nil {
		return nil, err
	}
	if seen.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s %w", where, errSymlink)
	}
	if !seen.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", where)
	}
	sub, err := dir.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	opened, err := sub.Stat(".")
	if err == nil && !os.SameFile(seen, opened) {
		err = fmt.Errorf("%s %w (it changed while being opened)", where, errSymlink)
	}
	if err != nil {
		sub.Close()
		return nil, err
	}
	return sub, nil
}

// writeNoFollow refuses a symbolic link at name, then writes data to a
// new temporary file beside it and renames that over name.
func writeNoFollow(dir *os.Root, name, where string, data []byte) (*webrootFile, error) {
	if fi, err := dir.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s %w", where, errSymlink)
	}
	suffix := make([]byte, 8)
	rand.Read(suffix)
	tmp := "." + name + ".tmp-" + hex.EncodeToString(suffix)
	f, err := dir.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("writing the challenge token: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var info fs.FileInfo
	if err == nil {
		info, err = dir.Lstat(tmp)
	}
	if err == nil {
		err = dir.Rename(tmp, name)
	}
	if err != nil {
		dir.Remove(tmp)
		return nil, fmt.Errorf("writing the challenge token to %s: %w", where, err)
	}
	return &webrootFile{dir: dir, name: name, info: info}, nil
}

// remove deletes the token, if the name still holds what was written.
func (w *webrootFile) remove() {
	if fi, err := w.dir.Lstat(w.name); err == nil && os.SameFile(fi, w.info) {
		w.dir.Remove(w.name)
	}
	w.dir.Close()
}
