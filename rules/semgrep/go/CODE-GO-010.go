package main

import (
	"math/rand"
)

func newResetToken() string {
	// ruleid: CODE-GO-010
	return string(rune(rand.Intn(1 << 20)))
}

func jitter() int {
	// ok: CODE-GO-010
	return rand.Intn(100)
}
