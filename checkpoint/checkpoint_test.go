package checkpoint

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ck")
	payload := []byte("hello checkpoint")
	if err := Write(p, "test/1", payload); err != nil {
		t.Fatal(err)
	}
	kind, got, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if kind != "test/1" || !bytes.Equal(got, payload) {
		t.Fatalf("got %q %q", kind, got)
	}
	// Overwrite: no temporary files left behind.
	if err := Write(p, "test/1", []byte("second")); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Fatalf("directory holds %d entries, want 1", len(ents))
	}
}

func TestRefusesDamage(t *testing.T) {
	img, err := Encode("k", []byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	flip := append([]byte(nil), img...)
	flip[len(flip)-3] ^= 1
	badMagic := append([]byte(nil), img...)
	badMagic[0] = 'X'
	badVer := append([]byte(nil), img...)
	badVer[8] = 9
	cases := map[string]struct {
		img  []byte
		want string
	}{
		"truncated payload": {img[:len(img)-1], "truncated"},
		"truncated header":  {img[:20], "truncated"},
		"empty":             {nil, "truncated"},
		"flipped bit":       {flip, "SHA-256"},
		"magic":             {badMagic, "magic"},
		"version":           {badVer, "version"},
		"trailing":          {append(append([]byte(nil), img...), 0), "trailing"},
	}
	for name, c := range cases {
		_, _, err := Decode(c.img)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want ErrCorrupt mentioning %q", name, err, c.want)
		}
	}
	if _, _, err := Read(filepath.Join(t.TempDir(), "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
