package main

import (
	"net/http"
)

func ping(w http.ResponseWriter, r *http.Request) {
	host := r.FormValue("host")
	// ruleid: CODE-GO-002
	exec.Command("sh", "-c", "ping -c 1 "+host).Run()
	// ok: CODE-GO-002
	exec.Command("ping", "-c", "1", "localhost").Run()
}
