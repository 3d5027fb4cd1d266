package reload

import (
	"bytes"
	"io/fs"
	"time"
)

// snapshot is one reading of the watched policy files, served as a
// read-only fs.FS so that the policy and its test cases are loaded from
// exactly the bytes that were hashed. Names outside Options.Files do not
// exist in it.
type snapshot struct {
	files  map[string][]byte
	errs   map[string]error // unreadable or absent files, as they failed
	digest string
}

// ReadFile implements fs.ReadFileFS; the caller owns the returned copy.
func (s *snapshot) ReadFile(name string) ([]byte, error) {
	b, err := s.lookup("read", name)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}

// Open implements fs.FS.
func (s *snapshot) Open(name string) (fs.File, error) {
	b, err := s.lookup("open", name)
	if err != nil {
		return nil, err
	}
	return &snapshotFile{Reader: bytes.NewReader(b), info: snapshotInfo{name: name, size: int64(len(b))}}, nil
}

func (s *snapshot) lookup(op, name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if b, ok := s.files[name]; ok {
		return b, nil
	}
	err := s.errs[name]
	if err == nil {
		err = fs.ErrNotExist
	}
	return nil, &fs.PathError{Op: op, Path: name, Err: err}
}

type snapshotFile struct {
	*bytes.Reader
	info snapshotInfo
}

func (f *snapshotFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *snapshotFile) Close() error               { return nil }

type snapshotInfo struct {
	name string
	size int64
}

func (i snapshotInfo) Name() string       { return i.name }
func (i snapshotInfo) Size() int64        { return i.size }
func (i snapshotInfo) Mode() fs.FileMode  { return 0o444 }
func (i snapshotInfo) ModTime() time.Time { return time.Time{} }
func (i snapshotInfo) IsDir() bool        { return false }
func (i snapshotInfo) Sys() any           { return nil }
