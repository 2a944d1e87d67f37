package main

func user(token string) {
	// ruleid: CODE-GO-012
	parser.ParseUnverified(token, claims)
	// ok: CODE-GO-012
	jwt.Parse(token, keyFunc, jwt.WithValidMethods([]string{"RS256"}))
}
