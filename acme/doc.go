// Package acme serves RFC 8555 (ACME) beside certmaker's own API, so that
// Caddy, Traefik, certbot and lego get and renew certificates by
// themselves: the directory, nonces, accounts (with External Account
// Binding to a certmaker user), key rollover, orders for DNS names and IP
// addresses (RFC 8738), http-01 challenges, finalize, certificate download
// and revokeCert.
//
// # Basics
//
// A Server is an http.Handler for everything under /acme/. It owns none of
// the CA: requests are checked by the challenge.Checker the simple API
// uses, certificates are signed and stored by an Issuer (the api.Server)
// for the account's certmaker user, so they appear in listings, OCSP, CRLs
// and metrics like any other. Every piece of ACME state (accounts, orders,
// authorizations, used nonces, EAB keys) lives in the store.
//
// Every request but the directory and newNonce is a JWS (flattened JSON,
// protected header only) whose "url" is the public URL of the resource
// and whose "nonce" was handed out by this server and is used once.
//
// # Caveats
//
// Nonces are not stored when handed out: each carries its issue time and a
// MAC under a key kept in the database, and only used nonces are stored
// (until they would have expired anyway). Nonces therefore survive a
// restart, cost no write to hand out, and still work once only.
//
// http-01 validation runs inside the challenge POST, so the answer already
// says valid or invalid; clients that poll afterwards see the same.
package acme
