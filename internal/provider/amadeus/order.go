package amadeus

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/reservd/reservd/internal/provider"
)

// orderIndex remembers which order id answered which reference, for the
// orders this process saw created; bounded, oldest forgotten first.
type orderIndex struct {
	mu    sync.Mutex
	ids   map[string]string
	order []string
}

const orderIndexSize = 4096

func (x *orderIndex) put(reference, id string) {
	if reference == "" || id == "" {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ids == nil {
		x.ids = make(map[string]string)
	}
	if _, ok := x.ids[reference]; !ok {
		x.order = append(x.order, reference)
		if len(x.order) > orderIndexSize {
			delete(x.ids, x.order[0])
			x.order = x.order[1:]
		}
	}
	x.ids[reference] = id
}

func (x *orderIndex) get(reference string) (string, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	id, ok := x.ids[reference]
	return id, ok
}

// orderBody renders a Flight Create Orders request.
func orderBody(req provider.OrderRequest) ([]byte, error) {
	if len(req.Offer.Raw) == 0 {
		return nil, fmt.Errorf("%w: offer %q has no flight-offer object to book", provider.ErrRejected, req.Offer.ID)
	}
	if len(req.Passengers) == 0 {
		return nil, fmt.Errorf("%w: no passengers", provider.ErrRejected)
	}
	if req.Reference == "" {
		return nil, fmt.Errorf("%w: no reference", provider.ErrRejected)
	}
	type name struct {
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
	}
	type phone struct {
		DeviceType         string `json:"deviceType"`
		CountryCallingCode string `json:"countryCallingCode"`
		Number             string `json:"number"`
	}
	type contact struct {
		EmailAddress string  `json:"emailAddress,omitempty"`
		Phones       []phone `json:"phones,omitempty"`
	}
	type traveler struct {
		ID          string   `json:"id"`
		DateOfBirth string   `json:"dateOfBirth"`
		Name        name     `json:"name"`
		Gender      string   `json:"gender,omitempty"`
		Contact     *contact `json:"contact,omitempty"`
	}
	type remark struct {
		SubType string `json:"subType"`
		Text    string `json:"text"`
	}
	travelers := make([]traveler, 0, len(req.Passengers))
	for i, p := range req.Passengers {
		t := traveler{
			ID:          strconv.Itoa(i + 1),
			DateOfBirth: p.BornOn,
			Name:        name{FirstName: p.GivenName, LastName: p.FamilyName},
			Gender:      gender(p.Gender, p.Title),
		}
		var ct contact
		ct.EmailAddress = p.Email
		if cc, num, ok := splitPhone(p.PhoneNumber); ok {
			ct.Phones = []phone{{DeviceType: "MOBILE", CountryCallingCode: cc, Number: num}}
		}
		if ct.EmailAddress != "" || len(ct.Phones) > 0 {
			t.Contact = &ct
		}
		travelers = append(travelers, t)
	}
	return json.Marshal(map[string]any{"data": map[string]any{
		"type":         "flight-order",
		"flightOffers": []json.RawMessage{req.Offer.Raw},
		"travelers":    travelers,
		"remarks": map[string]any{"general": []remark{{
			SubType: "GENERAL_MISCELLANEOUS",
			Text:    referenceRemark(req.Reference),
		}}},
	}})
}

// gender maps our m/f (or, failing that, the title) to Amadeus's enum.
func gender(g, title string) string {
	switch strings.ToLower(g) {
	case "m":
		return "MALE"
	case "f":
		return "FEMALE"
	}
	switch strings.ToLower(title) {
	case "mr":
		return "MALE"
	case "ms", "mrs", "miss":
		return "FEMALE"
	}
	return ""
}

// splitPhone splits an E.164 number ("+33612345678") into Amadeus's
// countryCallingCode ("33") and number ("612345678"), using the ITU
// numbering plan's structure: 1 and 7 are one-digit codes, a fixed set of
// two-digit codes, three digits otherwise.
func splitPhone(e164 string) (cc, number string, ok bool) {
	digits, found := strings.CutPrefix(strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9', r == '+':
			return r
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
			return -1
		}
		return 'x'
	}, e164), "+")
	if !found || strings.ContainsAny(digits, "x+") || len(digits) < 4 || len(digits) > 15 {
		return "", "", false
	}
	n := 3
	switch {
	case digits[0] == '1' || digits[0] == '7':
		n = 1
	case twoDigitCodes[digits[:2]]:
		n = 2
	}
	return digits[:n], digits[n:], true
}

var twoDigitCodes = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49
		51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98`) {
		m[c] = true
	}
	return m
}()
