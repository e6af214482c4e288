// Package acme serves RFC 8555 (ACME) beside certmaker's own API, so that
// Caddy, Traefik, certbot and lego get and renew certificates by
// themselves: the directory, nonces, accounts (with External Account
// Binding to a certmaker user), key rollover, orders for DNS names and IP
// addresses (RFC 8738), http-01 challenges, finalize, certificate download
// and revokeCert.
//
// # Basics
//
// A Server is an http.Handler for everything under /acme/, a door of the
// service core like the API: it verifies each request's JWS and nonce,
// decodes the payload, calls the core and encodes the answer or a problem
// document (problem.go's one table from the core's error kinds). It holds
// no store and writes nothing: ACME's state (accounts, orders,
// authorizations, EAB keys) and every rule on it live in the core
// (core/acme*.go), where certificates are also signed, stored and revoked
// for the account's certmaker user under the same rules as every other
// door, so they appear in listings, OCSP, CRLs, metrics and the audit trail
// like any other. Only the nonces live here, in memory.
//
// Every request but the directory and newNonce is a JWS (flattened JSON,
// protected header only) whose "url" is the public URL of the resource
// and whose "nonce" was handed out by this server and is used once.
//
// # Caveats
//
// Nonces cost no write, neither handed out nor used: each is this
// process's counter with a MAC, and a fixed window of bits in memory
// records which were used (nonce.go says why that is sound). A restart
// therefore makes every earlier nonce badNonce; clients retry with the
// fresh one in that answer.
//
// http-01 validation runs inside the challenge POST, so the answer already
// says valid or invalid; clients that poll afterwards see the same.
package acme
