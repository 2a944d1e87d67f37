package main

import (
	"net/http"
)

func download(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	// ruleid: CODE-GO-003
	http.ServeFile(w, r, "/srv/reports/"+name)
	// ok: CODE-GO-003
	http.ServeFile(w, r, filepath.Join("/srv/reports", filepath.Base(name)))
}
