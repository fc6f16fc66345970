package dashboard

import (
	"embed"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/streamtriage/triage/pkg/record"
)

//go:embed static
var static embed.FS

// maxPoints is how many points each anomaly series keeps; maxSamples how
// many throughput samples; maxExplanations how many explanations;
// throughputSpan over how many samples a throughput is measured.
const (
	maxPoints       = 240
	maxSamples      = 300
	maxExplanations = 50
	throughputSpan  = 3
)

// Counters are the demo's running totals, as of one moment.
type Counters struct {
	Records      int64   `json:"records"`
	Escalated    int64   `json:"escalated"`
	DeadLetters  int64   `json:"dead_letters"`
	Explanations int64   `json:"explanations"`
	LLMCalls     int64   `json:"llm_calls"`
	LLMTokens    int64   `json:"llm_tokens"`
	CostUSD      float64 `json:"cost_usd"`
	FalseAlarms  int64   `json:"false_alarms"`
}

// Incident is what the page shows of one injected incident.
type Incident struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Detected  bool      `json:"detected"`
	Explained bool      `json:"explained"`
	// Delay is how long detection took, as text; empty until detected.
	Delay string `json:"delay"`
}

// Point is one point of an anomaly series.
type Point struct {
	T       int64   `json:"t"` // event time, Unix milliseconds
	Value   float64 `json:"v"`
	Lower   float64 `json:"lo"`
	Upper   float64 `json:"hi"`
	Score   float64 `json:"s"`
	Flagged bool    `json:"f,omitempty"`
}

// Series is the recent points of one metric of one entity.
type Series struct {
	Entity string  `json:"entity"`
	Metric string  `json:"metric"`
	Points []Point `json:"points"`
	// MaxScore is the highest score among Points.
	MaxScore float64 `json:"max_score"`
}

// Explanation is what the page shows of one explanation.
type Explanation struct {
	record.Explanation
	// Incidents are the ids of the injected incidents it covers.
	Incidents []string  `json:"incidents"`
	SeenAt    time.Time `json:"seen_at"`
}

// sample is the counters at one wall time.
type sample struct {
	at time.Time
	c  Counters
}

// Dashboard holds the view and serves it. Its methods are safe for
// concurrent use.
type Dashboard struct {
	title     string
	incidents func() []Incident

	mu           sync.Mutex
	samples      []sample
	classes      map[string]int64
	series       map[[2]string]*Series
	explanations []Explanation
}

// New returns an empty dashboard titled title; incidents, when not nil, is
// called for every snapshot to list the injected incidents.
func New(title string, incidents func() []Incident) *Dashboard {
	return &Dashboard{title: title, incidents: incidents, classes: map[string]int64{},
		series: map[[2]string]*Series{}}
}

// Counters records the totals as of wall time at; the page's throughput
// is computed from successive calls, so call it about once a second.
func (d *Dashboard) Counters(c Counters, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.samples = append(d.samples, sample{at, c})
	if len(d.samples) > maxSamples {
		d.samples = slices.Delete(d.samples, 0, len(d.samples)-maxSamples)
	}
}

// Class counts n records of a classifier label.
func (d *Dashboard) Class(label string, n int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.classes[label] += n
}

// Enriched adds the anomaly verdicts of e, one point per metric, to the
// entity's series.
func (d *Dashboard) Enriched(e *record.Enriched) {
	if e.Anomaly == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t := e.Event.Time.UnixMilli()
	for _, m := range e.Anomaly.Metrics {
		// A threshold rule reports its bound with the other side open, as
		// the largest float; the detector's verdict on the same metric is
		// the one with a band to draw.
		if math.Abs(m.Lower) > math.MaxFloat64/2 || math.Abs(m.Upper) > math.MaxFloat64/2 {
			continue
		}
		k := [2]string{e.Event.Entity, m.Metric}
		s := d.series[k]
		if s == nil {
			s = &Series{Entity: k[0], Metric: k[1]}
			d.series[k] = s
		}
		s.Points = append(s.Points, Point{T: t, Value: m.Value, Lower: m.Lower, Upper: m.Upper,
			Score: m.Contribution, Flagged: e.Anomaly.Flagged && m.Contribution > 0 &&
				m.Direction != record.DirectionNone})
		if len(s.Points) > maxPoints {
			s.Points = slices.Delete(s.Points, 0, len(s.Points)-maxPoints)
		}
	}
}

// Explanation adds x, which covers the incidents with the given ids.
func (d *Dashboard) Explanation(x record.Explanation, incidents []string, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.explanations = append(d.explanations, Explanation{x, incidents, at})
	if len(d.explanations) > maxExplanations {
		d.explanations = slices.Delete(d.explanations, 0,
			len(d.explanations)-maxExplanations)
	}
}

// Throughput is one point of the throughput chart.
type Throughput struct {
	At        time.Time `json:"at"`
	PerSecond float64   `json:"per_second"`
}

// Snapshot is the JSON the page polls.
type Snapshot struct {
	Title        string           `json:"title"`
	Now          time.Time        `json:"now"`
	Counters     Counters         `json:"counters"`
	Throughput   []Throughput     `json:"throughput"`
	Classes      map[string]int64 `json:"classes"`
	Series       []Series         `json:"series"`
	Incidents    []Incident       `json:"incidents"`
	Explanations []Explanation    `json:"explanations"`
}

// Snapshot returns the current view. Series come sorted by entity and
// metric; explanations newest first.
func (d *Dashboard) Snapshot() Snapshot {
	s := Snapshot{Title: d.title, Now: time.Now()}
	if d.incidents != nil {
		s.Incidents = d.incidents()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := len(d.samples); n > 0 {
		s.Counters = d.samples[n-1].c
	}
	// Records arrive by the fetched batch, so each rate is taken over
	// throughputSpan samples to smooth it.
	for i := 1; i < len(d.samples); i++ {
		a, b := d.samples[max(0, i-throughputSpan)], d.samples[i]
		if dt := b.at.Sub(a.at).Seconds(); dt > 0 {
			s.Throughput = append(s.Throughput, Throughput{b.at,
				float64(b.c.Records-a.c.Records) / dt})
		}
	}
	s.Classes = make(map[string]int64, len(d.classes))
	for k, v := range d.classes {
		s.Classes[k] = v
	}
	for _, sr := range d.series {
		c := Series{Entity: sr.Entity, Metric: sr.Metric, Points: slices.Clone(sr.Points)}
		for _, p := range c.Points {
			c.MaxScore = max(c.MaxScore, p.Score)
		}
		s.Series = append(s.Series, c)
	}
	slices.SortFunc(s.Series, func(a, b Series) int {
		if a.Entity != b.Entity {
			return strings.Compare(a.Entity, b.Entity)
		}
		return strings.Compare(a.Metric, b.Metric)
	})
	for i := len(d.explanations) - 1; i >= 0; i-- {
		s.Explanations = append(s.Explanations, d.explanations[i])
	}
	return s
}

// Handler serves the page on / and the snapshot on /api/state.
func (d *Dashboard) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/state", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(d.Snapshot())
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "static/index.html")
	})
	return mux
}
