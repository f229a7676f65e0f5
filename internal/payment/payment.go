// Package payment is the seam to a card gateway, and the built-in test
// gateway the service uses unless a real one is configured. Every charge and
// refund carries an idempotency key, so that a retried or recovered booking
// never charges a card twice.
package payment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/reservd/reservd/internal/id"
	"github.com/reservd/reservd/internal/money"
)

// Gateway charges and refunds cards. Implementations must treat a repeated
// IdempotencyKey as the same operation and return its first result.
type Gateway interface {
	Charge(ctx context.Context, c Charge) (Receipt, error)
	Refund(ctx context.Context, r Refund) (Receipt, error)
}

// Charge asks to take Amount from the card behind Token.
type Charge struct {
	IdempotencyKey string
	Amount         money.Money
	Token          string
	Description    string
}

// Refund asks to give back a charge.
type Refund struct {
	IdempotencyKey string
	ChargeID       string
	Amount         money.Money
}

// Receipt identifies a completed charge or refund at the gateway.
type Receipt struct{ ID string }

// DeclinedError is a definitive refusal: retrying the same charge will not help.
type DeclinedError struct{ Reason string }

func (e *DeclinedError) Error() string { return "card declined: " + e.Reason }

// ErrUnavailable is a transient failure: the outcome is unknown and the same
// idempotency key must be retried.
var ErrUnavailable = errors.New("payment gateway unavailable")

// Test tokens of the built-in gateway, like the test tokens of common card gateways.
const (
	TokenVisa     = "tok_visa"
	TokenDeclined = "tok_chargeDeclined" // #nosec G101 -- a test card token the built-in gateway declines, not a credential
)

// TestGateway is an in-memory gateway: tok_visa succeeds, tok_chargeDeclined
// is declined, other tokens are declined as unknown. It remembers every
// idempotency key, like a real gateway, and counts what it did. Charge ids
// are derived from the idempotency key, so that replicas each running their
// own test gateway agree on them (and one can refund another's charge), as
// they would sharing a real gateway.
type TestGateway struct {
	mu       sync.Mutex
	charges  map[string]result // by idempotency key
	refunds  map[string]result
	failNext int
	// OnCharge, when set, runs after a charge is recorded and before it is
	// answered; a test uses it to lose the answer or stop the process.
	OnCharge func(c Charge) error
}

type result struct {
	receipt Receipt
	err     error
	charge  Charge
}

var _ Gateway = (*TestGateway)(nil)

// NewTestGateway returns an empty test gateway.
func NewTestGateway() *TestGateway {
	return &TestGateway{charges: map[string]result{}, refunds: map[string]result{}}
}

// FailNext makes the next n calls fail with ErrUnavailable before doing anything.
func (g *TestGateway) FailNext(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failNext = n
}

// Charge implements Gateway.
func (g *TestGateway) Charge(ctx context.Context, c Charge) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, err
	}
	g.mu.Lock()
	if g.failNext > 0 {
		g.failNext--
		g.mu.Unlock()
		return Receipt{}, ErrUnavailable
	}
	if c.IdempotencyKey == "" {
		g.mu.Unlock()
		return Receipt{}, errors.New("charge without an idempotency key")
	}
	r, seen := g.charges[c.IdempotencyKey]
	if seen && (r.charge.Amount != c.Amount || r.charge.Token != c.Token) {
		g.mu.Unlock()
		return Receipt{}, fmt.Errorf("idempotency key %s reused with different parameters", c.IdempotencyKey)
	}
	if !seen {
		switch c.Token {
		case TokenVisa:
			r = result{receipt: Receipt{ID: chargeID(c.IdempotencyKey)}}
		case TokenDeclined:
			r = result{err: &DeclinedError{Reason: "Your card was declined."}}
		default:
			r = result{err: &DeclinedError{Reason: "Unknown payment token."}}
		}
		r.charge = c
		g.charges[c.IdempotencyKey] = r
	}
	hook := g.OnCharge
	g.mu.Unlock()
	if hook != nil && !seen {
		if err := hook(c); err != nil {
			return Receipt{}, err
		}
	}
	return r.receipt, r.err
}

// Refund implements Gateway.
func (g *TestGateway) Refund(ctx context.Context, rf Refund) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failNext > 0 {
		g.failNext--
		return Receipt{}, ErrUnavailable
	}
	if r, ok := g.refunds[rf.IdempotencyKey]; ok {
		return r.receipt, r.err
	}
	if !validChargeID(rf.ChargeID) {
		return Receipt{}, fmt.Errorf("refund of unknown charge %q", rf.ChargeID)
	}
	r := result{receipt: Receipt{ID: id.New("re")}}
	g.refunds[rf.IdempotencyKey] = r
	return r.receipt, nil
}

// Succeeded counts successful charges (distinct idempotency keys).
func (g *TestGateway) Succeeded() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.charges {
		if c.err == nil {
			n++
		}
	}
	return n
}

// Refunded counts refunds.
func (g *TestGateway) Refunded() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.refunds)
}

// ChargedFor reports how many successful charges carry a key with this prefix.
func (g *TestGateway) ChargedFor(keyPrefix string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for k, c := range g.charges {
		if c.err == nil && len(k) >= len(keyPrefix) && k[:len(keyPrefix)] == keyPrefix {
			n++
		}
	}
	return n
}

// chargeID is the id of the charge made under an idempotency key.
func chargeID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "ch_" + hex.EncodeToString(sum[:12])
}

func validChargeID(s string) bool {
	rest, ok := strings.CutPrefix(s, "ch_")
	if !ok || len(rest) != 24 {
		return false
	}
	_, err := hex.DecodeString(rest)
	return err == nil
}
