package main

import (
	"net/http"
)

func preview(w http.ResponseWriter, r *http.Request) {
	target := r.URL.Query().Get("url")
	// ruleid: CODE-GO-005
	http.Get(target)
	// ok: CODE-GO-005
	http.Get("https://status.contoso.example/")
}
