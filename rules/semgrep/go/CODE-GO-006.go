package main

import (
	"net/http"
)

func done(w http.ResponseWriter, r *http.Request) {
	// ruleid: CODE-GO-006
	http.Redirect(w, r, r.URL.Query().Get("next"), http.StatusFound)
	// ok: CODE-GO-006
	http.Redirect(w, r, "/home", http.StatusFound)
}
