package main

import (
	"net/http"
)

func encrypt(key []byte) {
	// ruleid: CODE-GO-009
	des.NewCipher(key)
	// ok: CODE-GO-009
	aes.NewCipher(key)
}
