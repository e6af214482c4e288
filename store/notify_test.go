package store_test

import (
	"testing"
	"time"

	"certmaker/store"
)

func TestDB_Announced(t *testing.T) {
	db := mustOpen(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	key := []byte("target\x00cert\x00123")

	if ok, err := db.Announced(key); err != nil || ok {
		t.Fatalf("Announced on a new file = %v, %v", ok, err)
	}
	if err := db.MarkAnnounced(key, now, now.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkAnnounced([]byte("other"), now, now.Add(72*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkAnnounced(nil, now, now); err == nil {
		t.Error("an empty key was accepted")
	}

	db = reopen(t, db)
	if ok, err := db.Announced(key); err != nil || !ok {
		t.Fatalf("after reopening, Announced = %v, %v", ok, err)
	}

	t.Run("Forget", func(t *testing.T) {
		if n, err := db.ForgetAnnounced(now.Add(24*time.Hour), 10); err != nil || n != 0 {
			t.Fatalf("forgetting before the end: %d, %v", n, err)
		}
		if n, err := db.ForgetAnnounced(now.Add(48*time.Hour), 10); err != nil || n != 1 {
			t.Fatalf("forgetting one: %d, %v", n, err)
		}
		if ok, _ := db.Announced(key); ok {
			t.Error("a forgotten announcement is still there")
		}
		if ok, _ := db.Announced([]byte("other")); !ok {
			t.Error("an announcement still in its window was forgotten")
		}
	})

	t.Run("ReadOnlyWithoutBucket", func(t *testing.T) {
		fresh := mustOpen(t)
		path := fresh.Path()
		closeChecked(t, fresh)
		ro, err := store.Open(path, store.Options{ReadOnly: true, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		if ok, err := ro.Announced(key); err != nil || ok {
			t.Errorf("read-only file without the bucket: %v, %v", ok, err)
		}
	})
}
