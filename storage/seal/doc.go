// Package seal keeps certmaker's secrets unreadable in storage, whatever
// the backend: every private key and secret is sealed with AES-256-GCM
// under a key that lives outside the storage (the key file), with what
// the record is (its kind and identity) as associated data. A stolen
// database file, etcd snapshot or backup reveals no key, and a sealed
// value moved to another record does not open there.
//
// Basics: a backend loads the key (LoadKey, which makes the key file on
// the first start and finishes a rekey a crash interrupted; a read-only
// open uses LoadKeyReadOnly, which touches no file), keeps a
// Keyring, seals each secret with Seal before it writes the record and
// opens it with Open after it reads it, and stores CheckValue beside the
// secrets so that a wrong key file is refused at open (OpensCheck), not at
// the first secret read.
//
// Caveats: a rekey is a backend's transaction (it reseals every secret
// with Reseal), framed by the key file's replacement: StageKey before it,
// CommitKey once it committed, DropStagedKey if it did not. Freed storage
// that held values sealed under the old key is the backend's to erase.
package seal
