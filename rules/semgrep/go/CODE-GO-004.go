package main

import (
	"net/http"
)

func hello(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	// ruleid: CODE-GO-004
	fmt.Fprintf(w, "<p>Hello %s</p>", name)
	// ok: CODE-GO-004
	fmt.Fprintf(w, "<p>Hello %s</p>", html.EscapeString(name))
}
