package pipeline

import (
	"reflect"
	"testing"
)

func TestTallyCountsRunsAndMixes(t *testing.T) {
	tl := tally{m: make(map[string]int)}
	for _, topic := range []string{"a", "a", "b", "a", "", "c", "c", "c"} {
		tl.add(topic)
	}
	got := tl.done()
	want := map[string]int{"a": 3, "b": 1, "": 1, "c": 3}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := (&tally{m: make(map[string]int)}).done(); len(got) != 0 {
		t.Errorf("nothing added: got %v, want no counts", got)
	}
}
