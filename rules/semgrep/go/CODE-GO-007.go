package main

import (
	"net/http"
)

func client() *http.Client {
	// ruleid: CODE-GO-007
	insecure := &tls.Config{InsecureSkipVerify: true}
	// ok: CODE-GO-007
	safe := &tls.Config{MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: safe}}
}
