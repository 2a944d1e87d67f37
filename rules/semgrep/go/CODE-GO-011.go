package main

import (
	"net/http"
)

func login(w http.ResponseWriter, id string) {
	// ruleid: CODE-GO-011
	http.SetCookie(w, &http.Cookie{Name: "session", Value: id})
	// ok: CODE-GO-011
	http.SetCookie(w, &http.Cookie{Name: "session", Value: id, Secure: true, HttpOnly: true})
}
