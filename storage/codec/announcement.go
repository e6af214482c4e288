package codec

import (
	"fmt"
	"time"

	"certmaker/storage"
)

// announcement is the value of an announced key.
type announcement struct {
	At time.Time `json:"at"`
	// Until is when the record may go: the certificate (or root) has
	// ended by then and will never be announced again.
	Until time.Time `json:"until"`
}

// EncodeAnnouncement is the value stored under a's key, its times in UTC.
func EncodeAnnouncement(a storage.Announcement) ([]byte, error) {
	if len(a.Key) == 0 {
		return nil, fmt.Errorf("announcement key is empty")
	}
	return Encode(announcement{At: a.At.UTC(), Until: a.Until.UTC()})
}

// DecodeAnnouncement reads the times of the announcement stored under key.
func DecodeAnnouncement(key, v []byte) (storage.Announcement, error) {
	var a announcement
	if err := Decode(v, &a); err != nil {
		return storage.Announcement{}, err
	}
	return storage.Announcement{Key: key, At: a.At, Until: a.Until}, nil
}
