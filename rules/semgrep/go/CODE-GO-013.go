package main

func sign(t *jwt.Token) {
	// ruleid: CODE-GO-013
	t.SignedString([]byte("not-a-real-key-planted-for-rule-test"))
	// ok: CODE-GO-013
	t.SignedString([]byte(os.Getenv("JWT_SIGNING_KEY")))
}
