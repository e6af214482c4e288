package codec_test

import (
	"testing"
	"time"

	"certmaker/storage"
	"certmaker/storage/codec"
)

// TestAnnouncement: the value is the one stores have always written (a
// file or cluster written before keeps its announcements), in UTC, and a
// record without a key is refused.
func TestAnnouncement(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 30, 0, 0, time.FixedZone("CET", 3600))
	v, err := codec.EncodeAnnouncement(storage.Announcement{Key: []byte("k"), At: at, Until: at.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"v":1,"r":{"at":"2026-03-01T11:30:00Z","until":"2026-03-01T12:30:00Z"}}`
	if string(v) != want {
		t.Errorf("encoded %s, want %s", v, want)
	}
	a, err := codec.DecodeAnnouncement([]byte("k"), []byte(want))
	if err != nil || string(a.Key) != "k" || !a.At.Equal(at) || !a.Until.Equal(at.Add(time.Hour)) {
		t.Errorf("decoded %+v, %v", a, err)
	}
	if _, err := codec.EncodeAnnouncement(storage.Announcement{At: at}); err == nil {
		t.Error("an announcement without a key was encoded")
	}
	if _, err := codec.DecodeAnnouncement([]byte("k"), []byte("{")); err == nil {
		t.Error("a damaged value decoded")
	}
}
