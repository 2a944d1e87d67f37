package main

import (
	"net/http"
)

func digest(data []byte) {
	// ruleid: CODE-GO-008
	md5.Sum(data)
	// ok: CODE-GO-008
	sha256.Sum256(data)
}
