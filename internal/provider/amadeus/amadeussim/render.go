package amadeussim

import (
	"fmt"
	"strconv"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// The flight-offer as the simulator renders it, field names as documented.
type offerJSON struct {
	Type                     string          `json:"type"`
	ID                       string          `json:"id"`
	Source                   string          `json:"source"`
	InstantTicketingRequired bool            `json:"instantTicketingRequired"`
	NonHomogeneous           bool            `json:"nonHomogeneous"`
	OneWay                   bool            `json:"oneWay"`
	LastTicketingDate        string          `json:"lastTicketingDate"`
	NumberOfBookableSeats    int             `json:"numberOfBookableSeats"`
	Itineraries              []itineraryJSON `json:"itineraries"`
	Price                    priceJSON       `json:"price"`
	PricingOptions           struct {
		FareType                []string `json:"fareType"`
		IncludedCheckedBagsOnly bool     `json:"includedCheckedBagsOnly"`
	} `json:"pricingOptions"`
	ValidatingAirlineCodes []string              `json:"validatingAirlineCodes"`
	TravelerPricings       []travelerPricingJSON `json:"travelerPricings"`
}

type itineraryJSON struct {
	Duration string        `json:"duration"`
	Segments []segmentJSON `json:"segments"`
}

type segmentJSON struct {
	Departure       endPointJSON      `json:"departure"`
	Arrival         endPointJSON      `json:"arrival"`
	CarrierCode     string            `json:"carrierCode"`
	Number          string            `json:"number"`
	Aircraft        map[string]string `json:"aircraft"`
	Operating       map[string]string `json:"operating"`
	Duration        string            `json:"duration"`
	ID              string            `json:"id"`
	NumberOfStops   int               `json:"numberOfStops"`
	BlacklistedInEU bool              `json:"blacklistedInEU"`
}

type endPointJSON struct {
	IATACode string `json:"iataCode"`
	Terminal string `json:"terminal,omitempty"`
	At       string `json:"at"`
}

type priceJSON struct {
	Currency   string    `json:"currency"`
	Total      string    `json:"total"`
	Base       string    `json:"base"`
	Fees       []feeJSON `json:"fees,omitempty"`
	GrandTotal string    `json:"grandTotal,omitempty"`
}

type feeJSON struct {
	Amount string `json:"amount"`
	Type   string `json:"type"`
}

type travelerPricingJSON struct {
	TravelerID           string     `json:"travelerId"`
	FareOption           string     `json:"fareOption"`
	TravelerType         string     `json:"travelerType"`
	Price                priceJSON  `json:"price"`
	FareDetailsBySegment []fareJSON `json:"fareDetailsBySegment"`
}

type fareJSON struct {
	SegmentID           string         `json:"segmentId"`
	Cabin               string         `json:"cabin"`
	FareBasis           string         `json:"fareBasis"`
	Class               string         `json:"class"`
	IncludedCheckedBags map[string]int `json:"includedCheckedBags"`
}

// renderOffer renders an offer of journey j for travelers of the given
// types; adultFare is the journey's adult fare in EUR minor units (the
// inventory's currency), each traveler's fare (simkit.FareFor) quoted in
// currency at the shipped rates, so that every currency prices the same
// flights alike.
func renderOffer(id string, j simkit.Journey, currency string, types []string, adultFare int64) offerJSON {
	amount := func(minor int64) string { return money.Money{Amount: minor, Currency: currency}.Decimal() }
	o := offerJSON{
		Type: "flight-offer", ID: id, Source: "GDS", OneWay: len(j) == 1,
		LastTicketingDate:      j[0].DepartsLocal[:len(time.DateOnly)],
		NumberOfBookableSeats:  9,
		ValidatingAirlineCodes: []string{j[0].Carrier},
	}
	var fares []fareJSON
	for n, f := range j {
		segID := strconv.Itoa(n + 1)
		o.Itineraries = append(o.Itineraries, itineraryJSON{
			Duration: isoDuration(f.Duration),
			Segments: []segmentJSON{{
				Departure:   endPointJSON{IATACode: f.Origin, Terminal: "1", At: f.DepartsLocal},
				Arrival:     endPointJSON{IATACode: f.Destination, Terminal: "1", At: f.ArrivesLocal},
				CarrierCode: f.Carrier, Number: f.Number,
				Aircraft:  map[string]string{"code": aircraft(f.Duration)},
				Operating: map[string]string{"carrierCode": f.Carrier},
				Duration:  isoDuration(f.Duration), ID: segID,
			}},
		})
		fares = append(fares, fareJSON{SegmentID: segID, Cabin: "ECONOMY", FareBasis: "KLOW" + f.Carrier, Class: "K",
			IncludedCheckedBags: map[string]int{"quantity": 1}})
	}
	var total, baseTotal int64
	for i, t := range types {
		fare := simkit.Convert(simkit.FareFor(adultFare, t), "EUR", currency)
		base := fare * 80 / 100
		total, baseTotal = total+fare, baseTotal+base
		tp := travelerPricingJSON{
			TravelerID: strconv.Itoa(i + 1), FareOption: "STANDARD", TravelerType: amadeusType(t),
			Price: priceJSON{Currency: currency, Total: amount(fare), Base: amount(base)}, FareDetailsBySegment: fares,
		}
		o.TravelerPricings = append(o.TravelerPricings, tp)
	}
	o.Price = priceJSON{
		Currency: currency, Total: amount(total), Base: amount(baseTotal),
		Fees:       []feeJSON{{Amount: amount(0), Type: "SUPPLIER"}, {Amount: amount(0), Type: "TICKETING"}},
		GrandTotal: amount(total),
	}
	o.PricingOptions.FareType = []string{"PUBLISHED"}
	o.PricingOptions.IncludedCheckedBagsOnly = true
	return o
}

// amadeusType names a simkit passenger type as Amadeus's travelerType.
func amadeusType(t string) string {
	switch t {
	case simkit.Child:
		return "CHILD"
	case simkit.Infant:
		return "HELD_INFANT"
	}
	return "ADULT"
}

// simkitType is the simkit passenger type of an Amadeus travelerType; ok
// is false for a type the simulator does not sell.
func simkitType(t string) (string, bool) {
	switch t {
	case "ADULT":
		return simkit.Adult, true
	case "CHILD":
		return simkit.Child, true
	case "HELD_INFANT":
		return simkit.Infant, true
	}
	return "", false
}

func isoDuration(d time.Duration) string {
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return fmt.Sprintf("PT%dM", m)
	case m == 0:
		return fmt.Sprintf("PT%dH", h)
	}
	return fmt.Sprintf("PT%dH%dM", h, m)
}

func aircraft(d time.Duration) string {
	if d < 4*time.Hour {
		return "320"
	}
	return "333"
}

var carrierNames = map[string]string{
	"LH": "LUFTHANSA", "AF": "AIR FRANCE", "KL": "KLM ROYAL DUTCH AIRLINES", "IB": "IBERIA", "AZ": "ITA AIRWAYS",
}

var currencyNames = map[string]string{"EUR": "EURO", "USD": "US DOLLAR", "GBP": "POUND STERLING"}

func dictionaries(flights []simkit.Flight, currency string) map[string]any {
	carriers := map[string]string{}
	craft := map[string]string{}
	for _, f := range flights {
		carriers[f.Carrier] = carrierNames[f.Carrier]
		if a := aircraft(f.Duration); a == "320" {
			craft[a] = "AIRBUS A320"
		} else {
			craft[a] = "AIRBUS A330-300"
		}
	}
	name := currencyNames[currency]
	if name == "" {
		name = currency
	}
	return map[string]any{
		"locations":  map[string]any{},
		"aircraft":   craft,
		"currencies": map[string]string{currency: name},
		"carriers":   carriers,
	}
}
