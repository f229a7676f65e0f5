// Package airport knows the time zone of the airports reservd deals with, so
// that providers' local times become UTC instants correctly (DST included).
package airport

import (
	"fmt"
	"sync"
	"time"
	_ "time/tzdata" // zone data inside the binary: a fresh machine may have none
)

// zones maps IATA airport codes to IANA time zones.
var zones = map[string]string{
	"ATL": "America/New_York", "BOS": "America/New_York", "JFK": "America/New_York", "LGA": "America/New_York",
	"EWR": "America/New_York", "IAD": "America/New_York", "MIA": "America/New_York", "MCO": "America/New_York",
	"ORD": "America/Chicago", "DFW": "America/Chicago", "IAH": "America/Chicago", "MSP": "America/Chicago",
	"DEN": "America/Denver", "PHX": "America/Phoenix", "SLC": "America/Denver",
	"LAX": "America/Los_Angeles", "SFO": "America/Los_Angeles", "SEA": "America/Los_Angeles", "SAN": "America/Los_Angeles",
	"LAS": "America/Los_Angeles", "PDX": "America/Los_Angeles",
	"HNL": "Pacific/Honolulu", "ANC": "America/Anchorage",
	"YYZ": "America/Toronto", "YVR": "America/Vancouver", "YUL": "America/Toronto",
	"MEX": "America/Mexico_City", "GRU": "America/Sao_Paulo", "EZE": "America/Argentina/Buenos_Aires",
	"LHR": "Europe/London", "LGW": "Europe/London", "MAN": "Europe/London", "DUB": "Europe/Dublin",
	"CDG": "Europe/Paris", "ORY": "Europe/Paris", "AMS": "Europe/Amsterdam", "FRA": "Europe/Berlin",
	"MUC": "Europe/Berlin", "BER": "Europe/Berlin", "MAD": "Europe/Madrid", "BCN": "Europe/Madrid",
	"FCO": "Europe/Rome", "MXP": "Europe/Rome", "ZRH": "Europe/Zurich", "VIE": "Europe/Vienna",
	"CPH": "Europe/Copenhagen", "ARN": "Europe/Stockholm", "OSL": "Europe/Oslo", "HEL": "Europe/Helsinki",
	"LIS": "Europe/Lisbon", "PRG": "Europe/Prague", "WAW": "Europe/Warsaw", "IST": "Europe/Istanbul",
	"DXB": "Asia/Dubai", "DOH": "Asia/Qatar", "DEL": "Asia/Kolkata", "BOM": "Asia/Kolkata",
	"SIN": "Asia/Singapore", "HKG": "Asia/Hong_Kong", "NRT": "Asia/Tokyo", "HND": "Asia/Tokyo",
	"ICN": "Asia/Seoul", "PEK": "Asia/Shanghai", "PVG": "Asia/Shanghai", "BKK": "Asia/Bangkok",
	"SYD": "Australia/Sydney", "MEL": "Australia/Melbourne", "AKL": "Pacific/Auckland",
	"JNB": "Africa/Johannesburg", "CAI": "Africa/Cairo",
}

// locations holds the time zones loaded so far: time.LoadLocation reads and
// parses the zone's tzdata file on every call.
var locations sync.Map // IANA name → *time.Location

// Location returns the time zone of an airport.
func Location(iata string) (*time.Location, error) {
	name, ok := zones[iata]
	if !ok {
		return nil, fmt.Errorf("airport %q: unknown time zone", iata)
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, loc)
	return loc, nil
}

// Known reports whether the airport's time zone is known.
func Known(iata string) bool { _, ok := zones[iata]; return ok }

// LocalToUTC reads a provider's local wall-clock time ("2026-12-24T08:30:00",
// no offset) at an airport and returns the UTC instant.
func LocalToUTC(iata, local string) (time.Time, error) {
	loc, err := Location(iata)
	if err != nil {
		return time.Time{}, err
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, local, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("local time %q at %s: want 2006-01-02T15:04:05", local, iata)
}

// UTCToLocal formats an instant as the airport's local wall-clock time.
func UTCToLocal(iata string, t time.Time) (string, error) {
	loc, err := Location(iata)
	if err != nil {
		return "", err
	}
	return t.In(loc).Format("2006-01-02T15:04:05"), nil
}
