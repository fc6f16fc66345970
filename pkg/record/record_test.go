package record

import (
	"reflect"
	"testing"
)

func TestMetricsGet(t *testing.T) {
	m := Metrics{{Name: "a", Value: 1}, {Name: "b", Value: 0}}
	for _, tt := range []struct {
		name   string
		want   float64
		wantOK bool
	}{
		{"a", 1, true},
		{"b", 0, true},
		{"c", 0, false},
	} {
		if got, ok := m.Get(tt.name); got != tt.want || ok != tt.wantOK {
			t.Errorf("Get(%q): got %v, %v, want %v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
	if _, ok := Metrics(nil).Get("a"); ok {
		t.Error("Get on nil metrics: got a value, want none")
	}
}

func TestAttributesGet(t *testing.T) {
	a := Attributes{{Key: "region", Value: "eu"}, {Key: "empty", Value: ""}}
	if got, ok := a.Get("region"); got != "eu" || !ok {
		t.Errorf(`Get("region"): got %q, %v, want "eu", true`, got, ok)
	}
	if got, ok := a.Get("empty"); got != "" || !ok {
		t.Errorf(`Get("empty"): got %q, %v, want "", true`, got, ok)
	}
	if _, ok := a.Get("zone"); ok {
		t.Error(`Get("zone"): got a value, want none`)
	}
}

func TestMetricsOfSortsByName(t *testing.T) {
	got := MetricsOf(map[string]float64{"c": 3, "a": 1, "b": 2})
	want := Metrics{{Name: "a", Value: 1}, {Name: "b", Value: 2}, {Name: "c", Value: 3}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := MetricsOf(map[string]float64{}); got != nil {
		t.Errorf("empty map: got %v, want nil", got)
	}
}

func TestAttributesOfSortsByKey(t *testing.T) {
	got := AttributesOf(map[string]string{"z": "1", "m": "2"})
	want := Attributes{{Key: "m", Value: "2"}, {Key: "z", Value: "1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := AttributesOf(nil); got != nil {
		t.Errorf("nil map: got %v, want nil", got)
	}
}
