package httplog

import (
	"log/slog"
	"net/http"
	"time"
)

// Limits on what one client may hold of the server: how long it may take to
// send its headers and body, how long an answer may take, how long an idle
// keep-alive connection stays open, and how large the headers may be.
// Bodies are bounded per route (maxBody).
const (
	// Cuts slowloris clients that trickle headers and never finish.
	readHeaderTimeout = 10 * time.Second
	// A body is at most 64 KiB; 30 s is generous even for a slow link.
	readTimeout = 30 * time.Second
	// RSA-4096 key generation under load can take several seconds.
	writeTimeout = 60 * time.Second
	idleTimeout  = 2 * time.Minute
	// Real requests send well under 1 KiB of headers; net/http answers
	// 431 beyond this (plus its own 4 KiB of slack).
	maxHeaderBytes = 64 << 10
)

// NewHTTPServer wraps h in an http.Server with the limits above; its
// errors (TLS handshakes, oversized headers, panics net/http caught) go to
// log as warnings. Callers may shorten the fields, as tests do.
func NewHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
