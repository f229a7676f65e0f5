package id

import "testing"

func TestDerive(t *testing.T) {
	a := Derive("hld", []byte("secret"), "key-1")
	if !Valid("hld", a) {
		t.Fatalf("Derive gave %q, not a valid id", a)
	}
	if b := Derive("hld", []byte("secret"), "key-1"); b != a {
		t.Errorf("same secret and parts gave %q and %q", a, b)
	}
	for _, other := range []string{Derive("hld", []byte("other secret"), "key-1"), Derive("hld", []byte("secret"), "key-2"),
		Derive("hld", []byte("secret"), "key-", "1")} {
		if other == a {
			t.Errorf("a different secret or parts gave the same id %q", a)
		}
	}
	if n := New("hld"); !Valid("hld", n) || n == New("hld") {
		t.Errorf("New gave %q", n)
	}
}
