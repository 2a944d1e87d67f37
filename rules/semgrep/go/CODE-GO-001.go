package main

import (
	"net/http"
)

func find(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	// ruleid: CODE-GO-001
	db.Query("SELECT * FROM users WHERE name = '" + name + "'")
	// ok: CODE-GO-001
	db.Query("SELECT * FROM users WHERE name = $1", name)
}
