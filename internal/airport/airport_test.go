package airport

import (
	"testing"
	"time"
)

func TestLocalToUTC(t *testing.T) {
	t.Parallel()
	tests := []struct{ iata, local, want string }{
		{"SFO", "2026-12-24T08:30:00", "2026-12-24T16:30:00Z"}, // PST, UTC-8
		{"SFO", "2026-07-01T08:30:00", "2026-07-01T15:30:00Z"}, // PDT, UTC-7
		{"LHR", "2026-12-24T08:30", "2026-12-24T08:30:00Z"},
		{"NRT", "2026-12-25T06:00:00", "2026-12-24T21:00:00Z"}, // date line
		{"DEL", "2026-12-24T10:00:00", "2026-12-24T04:30:00Z"}, // half-hour offset
	}
	for _, tt := range tests {
		got, err := LocalToUTC(tt.iata, tt.local)
		if err != nil || got.Format(time.RFC3339) != tt.want {
			t.Errorf("LocalToUTC(%s, %s) = %s, %v; want %s", tt.iata, tt.local, got.Format(time.RFC3339), err, tt.want)
		}
		back, err := UTCToLocal(tt.iata, got)
		if err != nil || back[:16] != tt.local[:16] {
			t.Errorf("UTCToLocal(%s) = %s, %v; want %s", tt.iata, back, err, tt.local)
		}
	}
	if _, err := LocalToUTC("XXX", "2026-12-24T08:30:00"); err == nil {
		t.Error("unknown airport accepted")
	}
	if _, err := LocalToUTC("SFO", "24/12/2026 08:30"); err == nil {
		t.Error("malformed time accepted")
	}
}
