package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/reservd/reservd/internal/id"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/validate"
	"github.com/reservd/reservd/internal/waitroom"
)

// The waiting room's routes (package waitroom has the rules): an admin puts
// a flight on sale behind a queue, customers join it, and POST /holds on
// that flight asks for the Queue-Token an admitted ticket carries.

var (
	errQueueTokenRequired = &Error{Status: http.StatusForbidden, Code: "queue_token_required",
		Message: "This flight is on sale behind a queue: join it (POST /flights/{id}/queue) and send the admitted ticket's token as Queue-Token"}
	errQueueTokenInvalid = &Error{Status: http.StatusForbidden, Code: "queue_token_invalid",
		Message: "The Queue-Token is not valid for this flight and API key, or has expired"}
	errNoSale = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "This flight has no sale"}
)

// queueTokens signs and verifies Queue-Tokens. The secret is
// QUEUE_TOKEN_SECRET when set; otherwise it is generated once and kept in
// the database, so restarts and every replica sharing the database sign
// alike. It is fetched on first use and then kept in memory: verifying a
// token reads nothing.
type queueTokens struct {
	secret []byte
	store  store.Store
	mu     sync.Mutex
	signer *waitroom.Signer
	// sales remembers, per flight, the sale (or its absence) for
	// saleCacheTTL, so that a hold costs no database read to learn whether
	// its flight is behind a queue. This replica's own PUT and DELETE
	// forget the flight at once; another replica's take effect here within
	// saleCacheTTL.
	sales *lru.Cache[int64, saleLookup]
}

// saleCacheTTL bounds how long a sale put or removed on another replica
// goes unseen here (the read cache of flights is as stale).
const saleCacheTTL = time.Second

// saleLookup is a cached SaleGet: the sale, or none, as of at.
type saleLookup struct {
	sale waitroom.Sale
	none bool
	at   time.Time
}

// newSaleCache holds the sale lookups of up to 4,096 flights. (Not
// golang-lru's expirable LRU: each of those runs a goroutine for good.)
func newSaleCache() *lru.Cache[int64, saleLookup] {
	c, err := lru.New[int64, saleLookup](4096)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return c
}

// sale returns flightID's sale, or waitroom.ErrNoSale, through the cache.
func (q *queueTokens) sale(ctx context.Context, flightID int64) (waitroom.Sale, error) {
	if l, ok := q.sales.Get(flightID); ok && time.Since(l.at) < saleCacheTTL {
		if l.none {
			return waitroom.Sale{}, waitroom.ErrNoSale
		}
		return l.sale, nil
	}
	sale, err := q.store.SaleGet(ctx, flightID)
	switch {
	case errors.Is(err, waitroom.ErrNoSale):
		q.sales.Add(flightID, saleLookup{none: true, at: time.Now()})
	case err == nil:
		q.sales.Add(flightID, saleLookup{sale: sale, at: time.Now()})
	}
	return sale, err
}

func (q *queueTokens) get(ctx context.Context) (*waitroom.Signer, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.signer != nil {
		return q.signer, nil
	}
	secret := q.secret
	if len(secret) == 0 {
		candidate := make([]byte, waitroom.MinSecretLen)
		rand.Read(candidate)
		var err error
		if secret, err = q.store.SaleSecret(ctx, candidate); err != nil {
			return nil, err
		}
	}
	signer, err := waitroom.NewSigner(secret)
	if err != nil {
		return nil, err
	}
	q.signer = signer
	return signer, nil
}

type saleRequest struct {
	OpensAt        *time.Time `json:"opens_at"`
	AdmitPerSecond int        `json:"admit_per_second"`
	AdmissionTTL   string     `json:"admission_ttl"`
}

type saleView struct {
	FlightID       int64     `json:"flight_id"`
	OpensAt        time.Time `json:"opens_at"`
	AdmitPerSecond int       `json:"admit_per_second"`
	AdmissionTTL   string    `json:"admission_ttl"`
}

func viewSale(s waitroom.Sale) saleView {
	return saleView{FlightID: s.FlightID, OpensAt: s.OpensAt.UTC(), AdmitPerSecond: s.AdmitPerSecond, AdmissionTTL: s.AdmissionTTL.String()}
}

func (s *Server) putSale(w http.ResponseWriter, r *http.Request) error {
	fid, err := flightID(r)
	if err != nil {
		return err
	}
	var req saleRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	// Both engines keep times to the millisecond.
	sale := waitroom.Sale{FlightID: fid, AdmitPerSecond: req.AdmitPerSecond}
	if req.OpensAt != nil {
		sale.OpensAt = req.OpensAt.UTC().Truncate(time.Millisecond)
	}
	ttl, ttlErr := time.ParseDuration(req.AdmissionTTL)
	sale.AdmissionTTL = ttl
	errs := validate.Errors(sale.Validate())
	if ttlErr != nil {
		errs["admission_ttl"] = `must be a duration such as "10m"`
	}
	if len(errs) > 0 {
		return invalidRequest(errs)
	}
	defer s.queue.sales.Remove(sale.FlightID)
	if err := s.store.SalePut(r.Context(), sale); err != nil {
		return err
	}
	writeData(w, http.StatusOK, viewSale(sale))
	return nil
}

func (s *Server) deleteSale(w http.ResponseWriter, r *http.Request) error {
	fid, err := flightID(r)
	if err != nil {
		return err
	}
	sale, err := s.store.SaleGet(r.Context(), fid)
	if err == nil {
		err = s.store.SaleDelete(r.Context(), fid)
		s.queue.sales.Remove(fid)
	}
	if errors.Is(err, waitroom.ErrNoSale) {
		return errNoSale
	}
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, viewSale(sale))
	return nil
}

type ticketView struct {
	ID         string     `json:"id"`
	FlightID   int64      `json:"flight_id"`
	Status     string     `json:"status"`
	Position   *int64     `json:"position"`
	Token      *string    `json:"token"`
	AdmittedAt *time.Time `json:"admitted_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
}

// viewTicket shows a ticket as of the database clock v.Now; an admitted
// ticket carries its token.
func (s *Server) viewTicket(ctx context.Context, v store.QueueView) (ticketView, error) {
	a := waitroom.Admit(v.Sale, v.Ticket, v.Now)
	out := ticketView{ID: v.Ticket.ID, FlightID: v.Ticket.FlightID, Status: a.Status}
	if a.Position > 0 {
		out.Position = &a.Position
	}
	if a.Status != waitroom.StatusWaiting {
		at, exp := a.AdmittedAt.UTC(), a.ExpiresAt.UTC()
		out.AdmittedAt, out.ExpiresAt = &at, &exp
	}
	if a.Status == waitroom.StatusAdmitted {
		signer, err := s.queue.get(ctx)
		if err != nil {
			return ticketView{}, err
		}
		tok := signer.Sign(waitroom.Claims{TicketID: v.Ticket.ID, FlightID: v.Ticket.FlightID, KeyID: v.Ticket.KeyID,
			SaleOpensAt: v.Sale.OpensAt, ExpiresAt: a.ExpiresAt})
		out.Token = &tok
	}
	return out, nil
}

func (s *Server) joinQueue(w http.ResponseWriter, r *http.Request) error {
	fid, err := flightID(r)
	if err != nil {
		return err
	}
	if err := decodeOptionalEmpty(w, r); err != nil {
		return err
	}
	var b [8]byte
	rand.Read(b[:])
	v, err := s.store.QueueJoin(r.Context(), store.QueueJoinParams{
		FlightID: fid, KeyID: principal(r.Context()).KeyID, TicketID: id.New("qtk"),
		Rank: int64(binary.BigEndian.Uint64(b[:]) >> 1), // the shuffle key of an early arrival
	})
	if errors.Is(err, waitroom.ErrNoSale) {
		return errNoSale
	}
	if err != nil {
		return err
	}
	out, err := s.viewTicket(r.Context(), v)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if v.Created {
		status = http.StatusCreated
	}
	writeData(w, status, out)
	return nil
}

func (s *Server) getQueueTicket(w http.ResponseWriter, r *http.Request) error {
	fid, err := flightID(r)
	if err != nil {
		return err
	}
	tid := r.PathValue("ticket_id")
	if !id.Valid("qtk", tid) {
		return errNotFound
	}
	v, err := s.store.QueueTicketGet(r.Context(), store.QueueTicketGetParams{FlightID: fid, KeyID: principal(r.Context()).KeyID, TicketID: tid})
	if errors.Is(err, waitroom.ErrTicketNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	out, err := s.viewTicket(r.Context(), v)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, out)
	return nil
}

// checkQueueToken refuses a hold on a flight on sale behind a queue unless
// the request carries a valid Queue-Token of this customer. Whether a sale
// exists comes from a cache of a second (queueTokens.sale); the token itself
// is checked with the secret in memory and this replica's clock.
func (s *Server) checkQueueToken(r *http.Request, flightID int64) error {
	sale, err := s.queue.sale(r.Context(), flightID)
	if errors.Is(err, waitroom.ErrNoSale) {
		return nil
	} else if err != nil {
		return fmt.Errorf("queue token: %w", err)
	}
	tok := r.Header.Get("Queue-Token")
	if tok == "" {
		return errQueueTokenRequired
	}
	signer, err := s.queue.get(r.Context())
	if err != nil {
		return err
	}
	if _, err := signer.Verify(tok, flightID, principal(r.Context()).KeyID, sale.OpensAt, time.Now()); err != nil {
		return errQueueTokenInvalid
	}
	return nil
}
