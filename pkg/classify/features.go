package classify

// Seeds that keep the hash spaces of words, word n-grams, lead words and
// character n-grams apart, so that the word "ab" and the character n-gram
// "ab" fall in different buckets.
const (
	seedWord  uint32 = 2166136261
	seedNgram uint32 = 0x9747b28c
	seedChar  uint32 = 0x3c6ef372
	seedLead  uint32 = 0x7feb352d
	fnvPrime  uint32 = 16777619
)

// featureSpec says which features a text yields and how many buckets they
// are hashed into.
type featureSpec struct {
	buckets    uint32 // number of rows of the embedding table
	wordNgrams int    // longest word n-gram: 1 words only, 2 adds bigrams, ...
	minn, maxn int    // character n-gram lengths; maxn 0: none
	lead       int    // the first lead words are features a second time
}

// featureSet is what featurize writes: the bucket of every feature (words,
// then word n-grams, then lead words, then character n-grams) and the hash
// of every word.
type featureSet struct {
	buckets []uint32
	words   []uint32
	nword   int // buckets[:nword] are words, word n-grams and lead words
}

// fmix32 scrambles the bits of h so that every input bit moves about half
// of the output bits.
func fmix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// hashWord returns the FNV-1a hash of w in the word space.
func hashWord(w []byte) uint32 {
	h := seedWord
	for _, c := range w {
		h = (h ^ uint32(c)) * fnvPrime
	}
	return h
}

// bucket maps a hash to one of n buckets: a multiply by 2**32 over the
// golden ratio spreads the bits of h upwards, then the high half of a
// product picks the bucket.
func bucket(h, n uint32) uint32 {
	return uint32(uint64(h*0x9e3779b1) * uint64(n) >> 32)
}

// featurize replaces the contents of fs with the features of the words in
// t.
func (s *featureSpec) featurize(t *tokens, fs *featureSet) {
	fs.buckets = fs.buckets[:0]
	fs.words = fs.words[:0]
	n := t.len()
	for i := range n {
		h := hashWord(t.word(i))
		fs.words = append(fs.words, h)
		fs.buckets = append(fs.buckets, bucket(h, s.buckets))
	}
	for order := 2; order <= s.wordNgrams; order++ {
		for i := 0; i+order <= n; i++ {
			h := seedNgram + uint32(order)
			for j := i; j < i+order; j++ {
				h = fmix32(h*0x9e3779b1 + fs.words[j])
			}
			fs.buckets = append(fs.buckets, bucket(h, s.buckets))
		}
	}
	for i := range min(n, s.lead) {
		fs.buckets = append(fs.buckets, bucket(fmix32(fs.words[i]^seedLead), s.buckets))
	}
	fs.nword = len(fs.buckets)
	if s.maxn == 0 {
		return
	}
	for i := range n {
		fs.buckets = s.appendCharNgrams(fs.buckets, t.word(i))
	}
}

// appendCharNgrams appends the buckets of the character n-grams of "<w>",
// of lengths minn to maxn, leaving out the n-gram that is the whole "<w>"
// since the word itself is a feature. The n-grams are of bytes, which for
// text beyond ASCII cuts some runes; the hash does not mind.
func (s *featureSpec) appendCharNgrams(out []uint32, w []byte) []uint32 {
	var stack [64]byte
	b := stack[:0]
	if len(w)+2 > len(stack) {
		b = make([]byte, 0, len(w)+2)
	}
	b = append(b, '<')
	b = append(b, w...)
	b = append(b, '>')
	total := len(b)
	for start := range total {
		h := seedChar
		end := min(total, start+s.maxn)
		if start == 0 && end == total {
			end-- // not the whole "<w>"
		}
		for j, c := range b[start:end] {
			h = (h ^ uint32(c)) * fnvPrime
			if j+1 >= s.minn {
				out = append(out, bucket(h, s.buckets))
			}
		}
	}
	return out
}
