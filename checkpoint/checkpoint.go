package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Magic opens every checkpoint file.
const Magic = "DPMPICKP"

// Version is the format version Write produces and Read accepts.
const Version = 1

// maxKind bounds the kind string so that a corrupt header cannot make Read
// allocate much.
const maxKind = 256

// ErrCorrupt is wrapped by every error Read returns for a file that exists but
// is not a valid checkpoint (bad magic, unknown version, truncated, checksum
// mismatch, trailing data).
var ErrCorrupt = errors.New("corrupt checkpoint")

// Encode returns the complete file image of a checkpoint holding payload.
func Encode(kind string, payload []byte) ([]byte, error) {
	if len(kind) > maxKind {
		return nil, fmt.Errorf("checkpoint: kind %q longer than %d bytes", kind, maxKind)
	}
	var b bytes.Buffer
	b.Grow(56 + len(kind) + len(payload))
	b.WriteString(Magic)
	var u4 [4]byte
	var u8 [8]byte
	binary.LittleEndian.PutUint32(u4[:], Version)
	b.Write(u4[:])
	binary.LittleEndian.PutUint32(u4[:], uint32(len(kind)))
	b.Write(u4[:])
	b.WriteString(kind)
	binary.LittleEndian.PutUint64(u8[:], uint64(len(payload)))
	b.Write(u8[:])
	sum := sha256.Sum256(payload)
	b.Write(sum[:])
	b.Write(payload)
	return b.Bytes(), nil
}

// Decode checks a file image produced by Encode and returns its kind and
// payload (a sub-slice of file). Errors wrap ErrCorrupt and say what is wrong.
func Decode(file []byte) (kind string, payload []byte, err error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
	}
	if len(file) < 16 {
		return "", nil, bad("file is %d bytes, shorter than the 16-byte header (truncated)", len(file))
	}
	if string(file[:8]) != Magic {
		return "", nil, bad("bad magic %q, want %q (not a dpmpi checkpoint)", file[:8], Magic)
	}
	if v := binary.LittleEndian.Uint32(file[8:12]); v != Version {
		return "", nil, bad("format version %d, this program reads version %d", v, Version)
	}
	n := int(binary.LittleEndian.Uint32(file[12:16]))
	if n > maxKind {
		return "", nil, bad("kind length %d exceeds %d", n, maxKind)
	}
	if len(file) < 56+n {
		return "", nil, bad("file is %d bytes, shorter than its %d-byte header (truncated)", len(file), 56+n)
	}
	kind = string(file[16 : 16+n])
	m := binary.LittleEndian.Uint64(file[16+n : 24+n])
	var want [32]byte
	copy(want[:], file[24+n:56+n])
	rest := file[56+n:]
	if uint64(len(rest)) < m {
		return "", nil, bad("payload is %d bytes, header says %d (truncated)", len(rest), m)
	}
	if uint64(len(rest)) > m {
		return "", nil, bad("%d bytes of trailing data after the %d-byte payload", uint64(len(rest))-m, m)
	}
	if got := sha256.Sum256(rest); got != want {
		return "", nil, bad("SHA-256 of the payload is %x, header says %x (data damaged)", got[:8], want[:8])
	}
	return kind, rest, nil
}

// Write atomically replaces path by a checkpoint holding payload: temporary
// file in the same directory, write, fsync, rename, fsync of the directory.
// On error the previous file at path, if any, is untouched and the temporary
// file is removed.
func Write(path, kind string, payload []byte) error {
	img, err := Encode(kind, payload)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, img)
}

// WriteFileAtomic atomically replaces path by data (temporary file in the same
// directory, fsync, rename, directory fsync).
func WriteFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("checkpoint: creating a temporary file next to %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("checkpoint: writing %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("checkpoint: fsync of %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("checkpoint: closing %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("checkpoint: renaming %s to %s: %w", tmp, path, err)
	}
	return SyncDir(dir)
}

// SyncDir fsyncs a directory so that a rename or file creation in it is
// durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("checkpoint: opening directory %s for fsync: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("checkpoint: fsync of directory %s: %w", dir, err)
	}
	return nil
}

// Read reads and verifies the checkpoint at path and returns its kind and
// payload. A missing file gives an error satisfying errors.Is(err,
// fs.ErrNotExist); an invalid one an error wrapping ErrCorrupt naming the file
// and the reason.
func Read(path string) (kind string, payload []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	img, err := io.ReadAll(f)
	if err != nil {
		return "", nil, fmt.Errorf("checkpoint: reading %s: %w", path, err)
	}
	kind, payload, err = Decode(img)
	if err != nil {
		return "", nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return kind, payload, nil
}
