package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoadHoldBatch(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := (HoldBatch{Enabled: true, Slots: 2, Max: 64}); c.HoldBatch != want {
		t.Errorf("default HoldBatch = %+v, want %+v", c.HoldBatch, want)
	}
	c, err = Load(env(map[string]string{"HOLD_BATCH": "off", "HOLD_BATCH_SLOTS": "4", "HOLD_BATCH_WINDOW": "2ms", "HOLD_BATCH_MAX": "16"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := (HoldBatch{Enabled: false, Slots: 4, Window: 2 * time.Millisecond, Max: 16}); c.HoldBatch != want {
		t.Errorf("HoldBatch = %+v, want %+v", c.HoldBatch, want)
	}
	_, err = Load(env(map[string]string{"HOLD_BATCH": "sometimes", "HOLD_BATCH_SLOTS": "0", "HOLD_BATCH_WINDOW": "1s", "HOLD_BATCH_MAX": "0"}))
	for _, name := range []string{"HOLD_BATCH=", "HOLD_BATCH_SLOTS", "HOLD_BATCH_WINDOW", "HOLD_BATCH_MAX"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}
