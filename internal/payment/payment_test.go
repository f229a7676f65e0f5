package payment

import (
	"errors"
	"testing"

	"github.com/reservd/reservd/internal/money"
)

func TestTestGateway(t *testing.T) {
	t.Parallel()
	g := NewTestGateway()
	usd := money.Money{Amount: 1000, Currency: "USD"}
	r1, err := g.Charge(t.Context(), Charge{IdempotencyKey: "k1", Amount: usd, Token: TokenVisa})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := g.Charge(t.Context(), Charge{IdempotencyKey: "k1", Amount: usd, Token: TokenVisa})
	if err != nil || r2 != r1 || g.Succeeded() != 1 {
		t.Errorf("repeat charge = %v, %v (%d charges); want the first one again", r2, err, g.Succeeded())
	}
	if _, err := g.Charge(t.Context(), Charge{IdempotencyKey: "k1", Amount: money.Money{Amount: 5, Currency: "USD"}, Token: TokenVisa}); err == nil {
		t.Error("a key reused with another amount was accepted")
	}
	var declined *DeclinedError
	if _, err := g.Charge(t.Context(), Charge{IdempotencyKey: "k2", Amount: usd, Token: TokenDeclined}); !errors.As(err, &declined) {
		t.Errorf("tok_chargeDeclined: %v", err)
	}
	if _, err := g.Charge(t.Context(), Charge{IdempotencyKey: "k3", Amount: usd, Token: "tok_bogus"}); !errors.As(err, &declined) {
		t.Errorf("unknown token: %v", err)
	}
	// Another replica's gateway agrees on the charge id and can refund it, once.
	other := NewTestGateway()
	r3, _ := other.Charge(t.Context(), Charge{IdempotencyKey: "k1", Amount: usd, Token: TokenVisa})
	if r3 != r1 {
		t.Errorf("replicas disagree on the charge id: %v vs %v", r3, r1)
	}
	f1, err := other.Refund(t.Context(), Refund{IdempotencyKey: "rf1", ChargeID: r1.ID, Amount: usd})
	if err != nil {
		t.Fatal(err)
	}
	if f2, _ := other.Refund(t.Context(), Refund{IdempotencyKey: "rf1", ChargeID: r1.ID, Amount: usd}); f2 != f1 || other.Refunded() != 1 {
		t.Errorf("repeat refund = %v (%d refunds)", f2, other.Refunded())
	}
	if _, err := g.Refund(t.Context(), Refund{IdempotencyKey: "rf2", ChargeID: "ch_nope", Amount: usd}); err == nil {
		t.Error("refund of a made-up charge accepted")
	}
	g.FailNext(1)
	if _, err := g.Charge(t.Context(), Charge{IdempotencyKey: "k4", Amount: usd, Token: TokenVisa}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("FailNext: %v", err)
	}
}
