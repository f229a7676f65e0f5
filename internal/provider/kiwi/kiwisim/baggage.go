package kiwisim

// baggage is a check_flights baggage block: a free personal item and no
// hold bag, or a paid hold bag.
func baggage() map[string]any {
	free := map[string]any{"currency": "EUR", "amount": 0, "base": 0, "service": 0, "service_flat": 0, "merchant": 0}
	paid := map[string]any{"currency": "EUR", "amount": 25, "base": 21, "service": 4, "service_flat": 0, "merchant": 0}
	groups := map[string]any{"passenger_groups": []string{"adult", "child"}}
	return map[string]any{
		"definitions": map[string]any{
			"hand_bag": []any{map[string]any{"category": "personal_item", "conditions": groups, "price": free,
				"restrictions": map[string]int{"weight": 5, "height": 30, "length": 40, "width": 20, "dimensions_sum": 90}}},
			"hold_bag": []any{map[string]any{"category": "hold_bag", "conditions": groups, "price": paid,
				"restrictions": map[string]int{"weight": 20, "height": 52, "length": 78, "width": 28, "dimensions_sum": 158}}},
		},
		"combinations": map[string]any{
			"hand_bag": []any{map[string]any{"indices": []int{0}, "category": "hand_bag", "conditions": groups, "price": free}},
			"hold_bag": []any{
				map[string]any{"indices": []int{}, "category": "hold_bag", "conditions": groups, "price": free},
				map[string]any{"indices": []int{0}, "category": "hold_bag", "conditions": groups, "price": paid},
			},
		},
		"notices": map[string]any{},
	}
}
