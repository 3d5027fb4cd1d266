package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// RotatedName is the name a trail file gets when it is rotated: the trail's
// path, a dot, and the seq of the file's first record on 12 digits (more
// when needed), e.g. audit.jsonl.000000001235. Names therefore sort by seq,
// never change once given, and say where each file starts.
func RotatedName(path string, firstSeq uint64) string {
	return fmt.Sprintf("%s.%012d", path, firstSeq)
}

// RotatedFiles lists the rotated files of the trail at path, oldest (lowest
// first seq) first. The current file (path itself) is not included.
func RotatedFiles(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("audit: listing rotated files: %w", err)
	}
	type rf struct {
		name string
		seq  uint64
	}
	var out []rf
	for _, e := range ents {
		n := e.Name()
		suffix, ok := strings.CutPrefix(n, base+".")
		if !ok || suffix == "" || !e.Type().IsRegular() {
			continue
		}
		seq, err := strconv.ParseUint(suffix, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, rf{filepath.Join(dir, n), seq})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	names := make([]string, len(out))
	for i, r := range out {
		names[i] = r.name
	}
	return names, nil
}

// TrailFiles lists every file of the trail at path in chain order: the
// rotated files, oldest first, then path itself when it exists.
func TrailFiles(path string) ([]string, error) {
	files, err := RotatedFiles(path)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		files = append(files, path)
	}
	return files, nil
}

// readFirstSeq returns the seq of the first line of r; 0 for empty input.
func readFirstSeq(r io.Reader) (uint64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > MaxLineSize+1 {
			return 0, fmt.Errorf("first line longer than %d bytes", MaxLineSize)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && err != io.EOF {
			return 0, err
		}
		break
	}
	if len(line) == 0 {
		return 0, nil
	}
	var cf struct {
		Seq *uint64 `json:"seq"`
	}
	if err := json.Unmarshal(line, &cf); err != nil {
		return 0, fmt.Errorf("not a JSON record: %v", err)
	}
	if cf.Seq == nil || *cf.Seq == 0 {
		return 0, errors.New("no seq")
	}
	return *cf.Seq, nil
}
