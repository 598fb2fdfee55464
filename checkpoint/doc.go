// Package checkpoint writes and reads checkpoint files atomically and with a
// checksum, so that a crash while writing never leaves a torn file in place of
// a good one, and a corrupt or truncated file is refused with the reason.
// Write(path, kind, payload) saves a payload, whose encoding is the caller's,
// under a short kind string naming what it is; Read(path) returns the kind
// and the payload after checking them:
//
//	if err := checkpoint.Write("run/checkpoint.ckpt", "dptrain/1", payload); err != nil {
//		return err
//	}
//	kind, payload, err := checkpoint.Read("run/checkpoint.ckpt")
//	switch {
//	case errors.Is(err, fs.ErrNotExist): // no checkpoint yet
//	case errors.Is(err, checkpoint.ErrCorrupt): // refuse it: err says why
//	}
//
// Encode and Decode do the same on bytes in memory; WriteFileAtomic replaces
// any file atomically without the checkpoint framing.
//
// # Atomic write
//
// Write creates a temporary file in the destination's directory, writes the
// whole file, fsyncs it, renames it over the destination and fsyncs the
// directory. A reader therefore sees either the old file or the new one, never a
// mix, and after Write returns the new file survives a power loss. On error
// the previous file is untouched.
//
// # File format (version 1)
//
//	offset  size  field
//	0       8     magic "DPMPICKP"
//	8       4     format version, uint32 little-endian (currently 1)
//	12      4     kind length n, uint32 little-endian
//	16      n     kind: a short string naming what the payload is, e.g. "dptrain/1"
//	16+n    8     payload length m, uint64 little-endian
//	24+n    32    SHA-256 of the payload
//	56+n    m     payload
//
// Nothing may follow the payload.
package checkpoint
