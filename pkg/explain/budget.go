package explain

import (
	"sync"
	"time"
)

// budget enforces the token budgets of the minute and the day and the
// cost budget of the day. Windows are clock minutes and UTC days. A call
// reserves its estimate before it is sent and settles with what it used;
// a call whose reservation does not fit is not sent. It is safe for
// concurrent use.
type budget struct {
	cfg BudgetConfig

	mu        sync.Mutex
	minute    time.Time // start of the current minute window
	minTokens int64
	day       time.Time // start of the current day window
	dayTokens int64
	dayCost   float64
}

// reservation is what reserve took, to be settled.
type reservation struct {
	minute, day time.Time
	tokens      int64
	cost        float64
}

func newBudget(cfg BudgetConfig) *budget { return &budget{cfg: cfg} }

// roll starts new windows when now is past the current ones.
func (b *budget) roll(now time.Time) {
	if m := now.Truncate(time.Minute); !m.Equal(b.minute) {
		b.minute, b.minTokens = m, 0
	}
	if d := now.UTC().Truncate(24 * time.Hour); !d.Equal(b.day) {
		b.day, b.dayTokens, b.dayCost = d, 0, 0
	}
}

// cost returns the price of the tokens.
func (b *budget) cost(in, out int64) float64 {
	return float64(in)/1000*b.cfg.InputPricePer1K + float64(out)/1000*b.cfg.OutputPricePer1K
}

// reserve takes in+out tokens at now, or returns ErrBudgetSpent and takes
// nothing when a window has not enough left.
func (b *budget) reserve(now time.Time, in, out int64) (reservation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll(now)
	n, c := in+out, b.cost(in, out)
	if b.cfg.TokensPerMinute > 0 && b.minTokens+n > b.cfg.TokensPerMinute ||
		b.cfg.TokensPerDay > 0 && b.dayTokens+n > b.cfg.TokensPerDay ||
		b.cfg.CostPerDayUSD > 0 && b.dayCost+c > b.cfg.CostPerDayUSD {
		return reservation{}, ErrBudgetSpent
	}
	b.minTokens += n
	b.dayTokens += n
	b.dayCost += c
	return reservation{minute: b.minute, day: b.day, tokens: n, cost: c}, nil
}

// settle replaces a reservation by the tokens the call used, in the
// windows it was taken from if they are still current, and returns the
// call's cost. A failed call settles with zero tokens.
func (b *budget) settle(r reservation, in, out int64) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.cost(in, out)
	if r.minute.Equal(b.minute) {
		b.minTokens += in + out - r.tokens
	}
	if r.day.Equal(b.day) {
		b.dayTokens += in + out - r.tokens
		b.dayCost += c - r.cost
	}
	return c
}

// left returns the tokens left in the minute and the day at now, -1 for
// no limit.
func (b *budget) left(now time.Time) (minute, day int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll(now)
	minute, day = -1, -1
	if b.cfg.TokensPerMinute > 0 {
		minute = max(0, b.cfg.TokensPerMinute-b.minTokens)
	}
	if b.cfg.TokensPerDay > 0 {
		day = max(0, b.cfg.TokensPerDay-b.dayTokens)
	}
	return minute, day
}
