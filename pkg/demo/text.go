package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Labelled is one customer message with the intent it was written for.
type Labelled struct {
	Text  string `json:"text"`
	Label string `json:"label"`
}

// Intents are the labels of the customer messages, in a fixed order.
var Intents = []string{
	"card_declined", "refund_request", "double_charge", "login_problem",
	"transfer_pending", "account_locked", "update_details", "lost_card",
	"fees_question", "chargeback_dispute", "app_crash", "payout_delay",
}

// ClassCardDeclined is the intent that surges when the payment gateway is
// down.
const ClassCardDeclined = "card_declined"

// templates holds, per intent, phrasings with slots: {amt} an amount,
// {shop} a merchant name, {days} a number of days.
var templates = map[string][]string{
	"card_declined": {
		"my card was declined at {shop}",
		"card declined again when paying {amt}",
		"why does my payment keep getting declined",
		"tried to pay {amt} at {shop} and it says card declined",
		"transaction refused, my card works everywhere else",
		"payment failed with do not honour at checkout",
	},
	"refund_request": {
		"i want a refund for my order at {shop}",
		"still waiting on the refund of {amt} after {days} days",
		"please refund the {amt} you took",
		"how do i get my money back from {shop}",
		"returned the item {days} days ago, where is my refund",
	},
	"double_charge": {
		"i was charged twice for the same order",
		"{shop} took {amt} two times",
		"duplicate charge of {amt} on my statement",
		"why do i see the same payment twice",
		"charged double at {shop} yesterday",
	},
	"login_problem": {
		"cannot log in to the app",
		"the password reset link does not work",
		"i never get the login code by sms",
		"stuck on the sign in page for {days} days",
		"two factor code is always rejected",
	},
	"transfer_pending": {
		"my transfer of {amt} is still pending",
		"bank transfer shows processing for {days} days",
		"when will the {amt} transfer arrive",
		"sent money to a friend and it has not arrived",
		"transfer stuck in pending status",
	},
	"account_locked": {
		"my account has been locked",
		"account suspended without any reason",
		"it says my account is frozen, please unlock it",
		"locked out after too many attempts",
		"why was my account blocked",
	},
	"update_details": {
		"how do i change my address",
		"i need to update my phone number",
		"please change the email on my account",
		"moved house, where do i update my details",
		"can i change the name on the account",
	},
	"lost_card": {
		"i lost my card, please block it",
		"my wallet was stolen with the card inside",
		"need a replacement card, mine is lost",
		"someone stole my card at {shop}",
		"freeze my card, i cannot find it",
	},
	"fees_question": {
		"what is this {amt} fee",
		"why was i charged a monthly fee",
		"are there fees for paying abroad",
		"i do not understand the fee of {amt} on my account",
		"how much do you charge for transfers",
	},
	"chargeback_dispute": {
		"i want to dispute a payment to {shop}",
		"i did not authorise the {amt} charge",
		"open a chargeback for the {shop} order",
		"this payment of {amt} is fraud, i never made it",
		"the merchant never delivered, i want to dispute",
	},
	"app_crash": {
		"the app crashes when i open it",
		"app keeps closing on the payments screen",
		"the app freezes after the update",
		"blank screen every time i start the app",
		"app crashed in the middle of a payment",
	},
	"payout_delay": {
		"my payout has not arrived",
		"merchant payout of {amt} is {days} days late",
		"when do i get paid for last week's sales",
		"settlement missing from my bank account",
		"payouts stopped since {days} days",
	},
}

var (
	openers = []string{"", "", "", "hi, ", "hello ", "hey, ", "good morning, ", "urgent: ",
		"help! ", "excuse me, "}
	closers = []string{"", "", "", " thanks", " please help", "!!", " asap", "?",
		" thank you", ". what is going on"}
	shops = []string{"Fresh Basket", "Urban Threads", "Nimbus Air", "Bookworm",
		"Cafe Lune", "Pixel Games", "Green Grocer", "Metro Rail"}
	firstNames = []string{"anna", "ben", "chloe", "dev", "emma", "felix", "gita", "hugo"}
	domains    = []string{"example.com", "mail.test", "post.example.org"}
)

// messageMaker writes customer messages. It is not safe for concurrent use.
type messageMaker struct {
	rng *rand.Rand
}

// message returns one message of intent, with varied phrasing, a typo now
// and then, and personal data in about one message in six.
func (m *messageMaker) message(intent string) string {
	r := m.rng
	ts := templates[intent]
	s := ts[r.IntN(len(ts))]
	s = strings.ReplaceAll(s, "{shop}", shops[r.IntN(len(shops))])
	s = strings.ReplaceAll(s, "{amt}", m.amount())
	s = strings.ReplaceAll(s, "{days}", fmt.Sprint(2+r.IntN(12)))
	s = openers[r.IntN(len(openers))] + s + closers[r.IntN(len(closers))]
	if r.IntN(3) == 0 {
		s = m.typo(s)
	}
	switch r.IntN(18) {
	case 0:
		s += " my email is " + m.email()
	case 1:
		s += ", call me on " + m.phone()
	case 2:
		s += " (card " + m.card() + ")"
	}
	if r.IntN(5) == 0 {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

func (m *messageMaker) amount() string {
	r := m.rng
	if r.IntN(2) == 0 {
		return fmt.Sprintf("€%d.%02d", 3+r.IntN(400), r.IntN(100))
	}
	return fmt.Sprintf("%d eur", 5+r.IntN(900))
}

// typo swaps, drops or doubles one ASCII letter of s.
func (m *messageMaker) typo(s string) string {
	if len(s) < 6 {
		return s
	}
	i := 1 + m.rng.IntN(len(s)-3)
	if !isLetter(s[i]) || !isLetter(s[i+1]) {
		return s
	}
	switch m.rng.IntN(3) {
	case 0:
		return s[:i] + s[i+1:i+2] + s[i:i+1] + s[i+2:]
	case 1:
		return s[:i] + s[i+1:]
	default:
		return s[:i] + s[i:i+1] + s[i:]
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func (m *messageMaker) email() string {
	r := m.rng
	return fmt.Sprintf("%s.%d@%s", firstNames[r.IntN(len(firstNames))], 10+r.IntN(90),
		domains[r.IntN(len(domains))])
}

func (m *messageMaker) phone() string {
	r := m.rng
	return fmt.Sprintf("+44 7%03d %06d", r.IntN(1000), r.IntN(1000000))
}

// card returns a 16-digit number that passes the Luhn check, grouped by
// four.
func (m *messageMaker) card() string {
	d := make([]int, 16)
	d[0] = 4
	for i := 1; i < 15; i++ {
		d[i] = m.rng.IntN(10)
	}
	sum := 0
	for i := 0; i < 15; i++ {
		v := d[14-i]
		if i%2 == 0 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	d[15] = (10 - sum%10) % 10
	var b strings.Builder
	for i, v := range d {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(byte('0' + v))
	}
	return b.String()
}

// Corpus returns n labelled customer messages for training a classifier,
// the intents in equal shares, deterministic for seed. It draws from the
// same phrasings as the live stream but with its own random numbers.
func Corpus(seed uint64, n int) []Labelled {
	m := messageMaker{rng: rand.New(rand.NewPCG(seed, 0xc0ffee))}
	out := make([]Labelled, n)
	for i := range out {
		intent := Intents[i%len(Intents)]
		out[i] = Labelled{Text: m.message(intent), Label: intent}
	}
	return out
}
