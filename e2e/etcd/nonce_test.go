package etcd

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"certmaker/storage"
)

// nonceCap is the nodes' [acme] cluster_nonces_per_minute in these tests.
const nonceCap = 100

// usedNonces counts the used-nonce keys under the fleet's prefix, as
// etcd holds them.
func (f *fleet) usedNonces(cli *clientv3.Client) int64 {
	f.t.Helper()
	resp, err := cli.Get(context.Background(), f.prefix+"v1/nonces/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.Count
}

// jwk is key's public JWK as JSON (RFC 7638's member order).
func jwk(key *ecdsa.PrivateKey) string {
	pad := func(b *big.Int) string { return base64.RawURLEncoding.EncodeToString(b.FillBytes(make([]byte, 32))) }
	return fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":%q,"y":%q}`, pad(key.X), pad(key.Y))
}

// eabFor is an External Account Binding for key under an EAB key id the
// server never handed out, with a made-up MAC key.
func (f *fleet) eabFor(key *ecdsa.PrivateKey, kid string) string {
	hdr, _ := json.Marshal(map[string]string{"alg": "HS256", "kid": kid, "url": f.lb.URL + "/acme/new-account"})
	prot, pl := base64.RawURLEncoding.EncodeToString(hdr), base64.RawURLEncoding.EncodeToString([]byte(jwk(key)))
	macKey := make([]byte, 32)
	rand.Read(macKey)
	m := hmac.New(sha256.New, macKey)
	m.Write([]byte(prot + "." + pl))
	b, _ := json.Marshal(map[string]string{"protected": prot, "payload": pl, "signature": base64.RawURLEncoding.EncodeToString(m.Sum(nil))})
	return string(b)
}

// TestNonce_AnonymousTrafficBounded: on etcd, every used ACME nonce is a
// key, so what strangers can make the nodes spend must be bounded.
// Refused newAccount requests (no binding where one is required, a
// binding by a key the server never handed out) spend nothing; a nonce
// spent on one node is refused on every node; and a flood of requests
// whose nonces are spent leaves at most the configured number of keys per
// node and minute, the rest served with nonces the node keeps in memory.
func TestNonce_AnonymousTrafficBounded(t *testing.T) {
	c := startCluster(t, 1)
	f := newFleet(t, c, "/nonces/", 2, "")
	for _, nd := range f.nodes {
		editConf(t, nd.dir, "[acme]\n", fmt.Sprintf("[acme]\ncluster_nonces_per_minute = %d\n", nonceCap))
	}
	f.startAll()
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	// Refused before the nonce is spent: nothing in etcd.
	before := f.usedNonces(cli)
	const refused = 40
	for i := range refused {
		key, node := newECKey(), i%2
		payload, want := `{"termsOfServiceAgreed":true}`, "externalAccountRequired"
		if i%4 >= 2 {
			payload = fmt.Sprintf(`{"termsOfServiceAgreed":true,"externalAccountBinding":%s}`, f.eabFor(key, "nobody"))
			want = "unauthorized"
		}
		code, typ, _ := f.jwsPost(node, key, f.nonceFrom(node), "/acme/new-account", payload)
		if code != 400 && code != 403 || !strings.HasSuffix(typ, ":"+want) {
			t.Fatalf("an anonymous newAccount on node %d: %d %s, want %s", node, code, typ, want)
		}
	}
	if after := f.usedNonces(cli); after != before {
		t.Errorf("%d refused anonymous newAccount requests left %d used-nonce keys in etcd, want none", refused, after-before)
	}

	// A spent nonce is refused on every node.
	key := newECKey()
	nonce := f.nonceFrom(0)
	if code, typ, _ := f.jwsPost(0, key, nonce, "/acme/new-account", `{"onlyReturnExisting":true}`); !strings.HasSuffix(typ, ":accountDoesNotExist") {
		t.Fatalf("onlyReturnExisting for a new key: %d %s", code, typ)
	}
	for i := range f.nodes {
		if code, typ, fresh := f.jwsPost(i, key, nonce, "/acme/new-account", `{"onlyReturnExisting":true}`); !strings.HasSuffix(typ, ":badNonce") || fresh == "" {
			t.Fatalf("a spent nonce again on node %d: %d %s, Replay-Nonce %q", i, code, typ, fresh)
		}
	}

	// A flood through node 0 of requests that spend their nonces.
	start := time.Now()
	base := f.usedNonces(cli)
	const flood = 3 * nonceCap
	nonce = f.nonceFrom(0)
	var badNonces int
	for range flood {
		code, typ, fresh := f.jwsPost(0, key, nonce, "/acme/new-account", `{"onlyReturnExisting":true}`)
		if strings.HasSuffix(typ, ":badNonce") {
			badNonces++
		} else if !strings.HasSuffix(typ, ":accountDoesNotExist") {
			t.Fatalf("onlyReturnExisting in the flood: %d %s", code, typ)
		}
		nonce = fresh
	}
	// A minute may begin during the flood: each minute has its cap.
	minutes := int64(time.Now().Truncate(time.Minute).Sub(start.Truncate(time.Minute))/time.Minute) + 1
	written := f.usedNonces(cli) - base
	t.Logf("%d requests through node 0 in %v wrote %d used-nonce keys (cap %d a minute, %d minute(s)); %d badNonce",
		flood, time.Since(start).Round(time.Millisecond), written, nonceCap, minutes, badNonces)
	if written > nonceCap*minutes {
		t.Errorf("a flood of %d requests left %d used-nonce keys, over the cap of %d a minute", flood, written, nonceCap)
	}
	if badNonces > 0 {
		t.Errorf("%d requests of one client of one node got badNonce with the nonce that node gave it", badNonces)
	}
	// Past the cap, node 0's nonces are its own: taken once there, and
	// refused by node 1 with a nonce to go on with. (More than the cap
	// handed out within one minute, so that the next is past it.)
	var other string
	for {
		began := time.Now()
		for range nonceCap + 1 {
			nonce = f.nonceFrom(0)
		}
		other = f.nonceFrom(0)
		if time.Now().Truncate(time.Minute).Equal(began.Truncate(time.Minute)) {
			break
		}
	}
	if code, typ, _ := f.jwsPost(0, key, nonce, "/acme/new-account", `{"onlyReturnExisting":true}`); !strings.HasSuffix(typ, ":accountDoesNotExist") {
		t.Fatalf("a nonce past the cap on its own node: %d %s", code, typ)
	}
	for i := range f.nodes {
		if code, typ, fresh := f.jwsPost(i, key, nonce, "/acme/new-account", `{"onlyReturnExisting":true}`); !strings.HasSuffix(typ, ":badNonce") || fresh == "" {
			t.Fatalf("a nonce past the cap, again on node %d: %d %s, Replay-Nonce %q", i, code, typ, fresh)
		}
	}
	if code, typ, fresh := f.jwsPost(1, key, other, "/acme/new-account", `{"onlyReturnExisting":true}`); !strings.HasSuffix(typ, ":badNonce") || fresh == "" {
		t.Fatalf("node 0's nonce past the cap on node 1: %d %s, Replay-Nonce %q", code, typ, fresh)
	}
}

// TestSpendNonce_LeasePerMinute: used nonces go a minute at a time, each
// minute under its own lease, which ends after the nonce's until and
// within storage.MaxNonceLinger of it: not all at once under one lease
// kept for many minutes.
func TestSpendNonce_LeasePerMinute(t *testing.T) {
	db := openStore(t)
	cli := rawClient(t)
	ctx := context.Background()
	leases := map[clientv3.LeaseID]bool{}
	for i, in := range []time.Duration{time.Minute, 5 * time.Minute, 11 * time.Minute, 11*time.Minute + time.Second} {
		nonce := []byte(fmt.Sprintf("nonce-%d-of-16b!", i))
		until := time.Now().Add(in)
		must(t, db.SpendNonce(nonce, until))
		resp, err := cli.Get(ctx, db.Prefix()+"nonces/"+string(nonce))
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("the used nonce's key: %v, %d keys", err, len(resp.Kvs))
		}
		lease := clientv3.LeaseID(resp.Kvs[0].Lease)
		ttl, err := cli.TimeToLive(ctx, lease)
		if err != nil {
			t.Fatal(err)
		}
		ends := time.Now().Add(time.Duration(ttl.TTL) * time.Second)
		if ends.Before(until) || ends.After(until.Add(storage.MaxNonceLinger)) {
			t.Errorf("a nonce used until %v from now is kept %ds, want between that and %v more", in, ttl.TTL, storage.MaxNonceLinger)
		}
		leases[lease] = true
	}
	if len(leases) < 3 {
		t.Errorf("nonces of three minutes under %d leases", len(leases))
	}
}
