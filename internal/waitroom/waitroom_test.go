package waitroom

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var opens = time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)

func TestAdmitEarlyTickets(t *testing.T) {
	t.Parallel()
	s := Sale{FlightID: 1, OpensAt: opens, AdmitPerSecond: 4, AdmissionTTL: time.Minute}
	tk := Ticket{Early: true, EarlyIndex: 6}
	if a := Admit(s, tk, opens.Add(-time.Second)); a.Status != StatusWaiting || a.Position != 0 || !a.AdmittedAt.IsZero() {
		t.Errorf("before opens_at: %+v, want waiting with no position", a)
	}
	slot := opens.Add(1500 * time.Millisecond) // index 6 at 4/s
	for _, tt := range []struct {
		at   time.Time
		want Admission
	}{
		{opens, Admission{StatusWaiting, 6, slot, slot.Add(time.Minute)}},
		{opens.Add(time.Millisecond), Admission{StatusWaiting, 6, slot, slot.Add(time.Minute)}},
		{opens.Add(250 * time.Millisecond), Admission{StatusWaiting, 5, slot, slot.Add(time.Minute)}},
		{slot.Add(-time.Nanosecond), Admission{StatusWaiting, 1, slot, slot.Add(time.Minute)}},
		{slot, Admission{StatusAdmitted, 0, slot, slot.Add(time.Minute)}},
		{slot.Add(time.Minute), Admission{StatusExpired, 0, slot, slot.Add(time.Minute)}},
	} {
		if got := Admit(s, tk, tt.at); got != tt.want {
			t.Errorf("at opens+%v: %+v, want %+v", tt.at.Sub(opens), got, tt.want)
		}
	}
}

func TestNextSlotIsALeakyBucket(t *testing.T) {
	t.Parallel()
	s := Sale{OpensAt: opens, AdmitPerSecond: 10, AdmissionTTL: time.Minute}
	// Three early tickets: the first late one queues behind them.
	slot, next := NextSlot(s, time.Time{}, 3, opens.Add(50*time.Millisecond))
	if want := opens.Add(300 * time.Millisecond); !slot.Equal(want) || !next.Equal(want.Add(100*time.Millisecond)) {
		t.Fatalf("first late slot %v next %v, want %v", slot, next, want)
	}
	// A queue that ran empty admits at once, and does not bank slots.
	late := opens.Add(10 * time.Second)
	slot, next = NextSlot(s, next, 3, late)
	if !slot.Equal(late) || !next.Equal(late.Add(100*time.Millisecond)) {
		t.Fatalf("after an idle queue: slot %v next %v, want %v", slot, next, late)
	}
	slot2, _ := NextSlot(s, next, 3, late)
	if slot2.Sub(slot) != 100*time.Millisecond {
		t.Errorf("a burst after idle: second slot %v after the first, want one interval", slot2.Sub(slot))
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := Sale{OpensAt: opens, AdmitPerSecond: 1, AdmissionTTL: time.Second}
	if errs := ok.Validate(); len(errs) != 0 {
		t.Errorf("valid sale: %v", errs)
	}
	bad := Sale{AdmitPerSecond: 0, AdmissionTTL: time.Millisecond}
	if errs := bad.Validate(); len(errs) != 3 {
		t.Errorf("invalid sale: %v, want three fields", errs)
	}
}

func TestToken(t *testing.T) {
	t.Parallel()
	secret := []byte(strings.Repeat("k", 32))
	s, err := NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSigner(secret[:31]); err == nil {
		t.Error("NewSigner accepted a 31-byte secret")
	}
	exp := opens.Add(time.Minute)
	c := Claims{TicketID: "qtk_abc", FlightID: 7, KeyID: 3, SaleOpensAt: opens, ExpiresAt: exp}
	tok := s.Sign(c)
	if got, err := s.Verify(tok, 7, 3, opens, opens); err != nil || got != c {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, c)
	}
	other, _ := NewSigner([]byte(strings.Repeat("x", 32)))
	enc, sig, _ := strings.Cut(tok, ".")
	forged := b64.EncodeToString([]byte(fmt.Sprintf("v1|qtk_abc|7|3|%d|99999999999999", opens.UnixMilli()))) + "." + sig
	for name, tt := range map[string]struct {
		tok         string
		flight, key int64
		at          time.Time
		signer      *Signer
		saleOpens   time.Time
	}{
		"expired":        {tok, 7, 3, exp, s, opens},
		"another sale":   {tok, 7, 3, opens, s, opens.Add(time.Hour)},
		"other flight":   {tok, 8, 3, opens, s, opens},
		"other customer": {tok, 7, 4, opens, s, opens},
		"other secret":   {tok, 7, 3, opens, other, opens},
		"forged expiry":  {forged, 7, 3, opens, s, opens},
		"no signature":   {enc, 7, 3, opens, s, opens},
		"garbage":        {"!!.??", 7, 3, opens, s, opens},
		"empty":          {"", 7, 3, opens, s, opens},
	} {
		if _, err := tt.signer.Verify(tt.tok, tt.flight, tt.key, tt.saleOpens, tt.at); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%s: Verify error = %v, want ErrTokenInvalid", name, err)
		}
	}
}
