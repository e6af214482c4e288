// Command staticsrv is the yardstick for OCSP throughput: a bare Go HTTP
// server that answers every request with the same bytes (a response saved
// from certmaker) and the same headers certmaker's OCSP GET sends, so that
// the only difference `make load` measures is certmaker's own work.
//
//	staticsrv -listen 127.0.0.1:18890 -file resp.der
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18890", "`ADDR` to listen on (loopback)")
	file := flag.String("file", "", "the response body `FILE`")
	flag.Parse()
	body, err := os.ReadFile(*file)
	if err != nil {
		log.Fatal(err)
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	now := time.Now().UTC()
	lastModified := now.Format(http.TimeFormat)
	expires := now.Add(24 * time.Hour).Format(http.TimeFormat)
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Content-Type", "application/ocsp-response")
		hdr.Set("Cache-Control", "max-age=86340, public, no-transform, must-revalidate")
		hdr.Set("Last-Modified", lastModified)
		hdr.Set("Expires", expires)
		hdr.Set("ETag", etag)
		hdr.Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
	log.Fatal((&http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 10 * time.Second}).ListenAndServe())
}
